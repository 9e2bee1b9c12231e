/**
 * The incremental call-log read against the fake Zoom HTTP server, through the real client, on a
 * real Redis: exact counts after a paginated 30-day backfill, cheap incremental polls, and no
 * double counting or loss across QPS retries, a Daily-limit pause, an expired page token and a
 * read cut short.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { ZoomAccount } from '../../src/config';
import { utcDay } from '../../src/kernel/format';
import { pollApp, type PollAppResult } from '../../src/capabilities/evidence/jobs/pollApp';
import { createLogger } from '../../src/log';
import { createKeys } from '../../src/platform/redis/keys';
import { createUsageStore, type UsageStore } from '../../src/capabilities/evidence/stores/usage';
import { DAY_MS } from '../../src/capabilities/evidence/stores/usageKeys';
import { createZoomClient, type ZoomClient } from '../../src/platform/zoom/client';
import { ZoomPausedError } from '../../src/platform/zoom/errors';
import { dailyLimited, qpsLimited, type FakeZoom } from '../../dev/fakes/zoomServer';
import { closePollFixture, openPollFixture } from '../helpers/pollFixture';
import { uniquePrefix } from '../helpers/redis';

const FILE_PREFIX = uniquePrefix('pollApp');
// Near real time: day hashes expire 400 days after their day.
const START = Math.floor(Date.now() / 60_000) * 60_000;
let now = START;
const clock = () => now;
const { log } = createLogger({ level: 'silent', secrets: [] });

let fake: FakeZoom;
let redis: Redis;
let seq = 0;

beforeAll(async () => {
  ({ fake, redis } = await openPollFixture(clock));
});

afterAll(async () => {
  await closePollFixture({ fake, redis }, FILE_PREFIX);
});

interface Setup {
  appId: string;
  usage: UsageStore;
  client: ZoomClient;
  /** Ground truth: entries per UTC day, as generated. */
  truth: Map<string, number>;
  /** Adds `count` entries evenly spread over [fromMs, toMs]. */
  generate(count: number, fromMs: number, toMs: number): void;
  poll(maxPages?: number): Promise<PollAppResult>;
  /** Call-log requests the fake received since the last call. */
  logRequests(): number;
  /** Runs after every HTTP request the client sends (to script the fake mid-read). */
  afterRequest: { fn?: (n: number) => void };
}

function setup(): Setup {
  seq += 1;
  const prefix = `${FILE_PREFIX}-${seq}`;
  const keys = createKeys(prefix);
  const accountId = `acc-${seq}-${randomBytes(3).toString('hex')}`;
  const appId = `app${seq}${randomBytes(3).toString('hex')}`;
  const account: ZoomAccount = { name: `acct${seq}`, accountId, clientId: `cid-${seq}`, clientSecret: `secret-${randomBytes(8).toString('hex')}`, apiUrl: fake.apiUrl };
  fake.addAccount({ accountId, clientId: account.clientId, clientSecret: account.clientSecret });
  fake.addApp(accountId, { app_id: appId, app_name: 'Legacy JWT' });
  const afterRequest: Setup['afterRequest'] = {};
  let httpRequests = 0;
  const client = createZoomClient({
    account,
    oauthUrl: fake.oauthUrl,
    redis,
    keys,
    log,
    clock,
    addSecret: () => undefined,
    timeoutMs: 5_000,
    sleep: async () => undefined,
    onRequest: (info) => {
      if (info.endpoint.includes('api_call_logs')) afterRequest.fn?.(++httpRequests);
    },
  });
  const usage = createUsageStore({ redis, keys });
  const truth = new Map<string, number>();
  let counted = 0;
  const countLogRequests = () => fake.requests.filter((r) => r.includes(`/marketplace/apps/${appId}/api_call_logs`)).length;
  return {
    appId,
    usage,
    client,
    truth,
    afterRequest,
    generate(count, fromMs, toMs) {
      fake.generateLogs(appId, { count, fromMs, toMs, statusMix: { 200: 8, 401: 1, 500: 1 }, seed: seq });
      // Same spread as the fake: evenly between fromMs and toMs.
      for (let i = 0; i < count; i++) {
        const t = count === 1 ? fromMs : fromMs + Math.floor(((toMs - fromMs) * i) / (count - 1));
        const d = utcDay(t);
        truth.set(d, (truth.get(d) ?? 0) + 1);
      }
    },
    poll: (maxPages) => pollApp({ zoom: client, usage, clock, log, appId, ...(maxPages !== undefined ? { maxPages } : {}) }),
    logRequests() {
      const total = countLogRequests();
      const delta = total - counted;
      counted = total;
      return delta;
    },
  };
}

async function expectExact(s: Setup): Promise<void> {
  const days = [...s.truth.keys()].sort();
  const daily = await s.usage.daily(s.appId, days);
  expect(Object.fromEntries(daily.map((d) => [d.day, d.total]))).toEqual(Object.fromEntries(days.map((d) => [d, s.truth.get(d)])));
  const total = [...s.truth.values()].reduce((a, b) => a + b, 0);
  expect((await s.usage.summary(s.appId)).ingested).toBe(total);
  const endpoints = await s.usage.endpoints(s.appId, days);
  expect(endpoints.reduce((sum, e) => sum + e.count, 0)).toBe(total);
}

beforeEach(() => {
  now += DAY_MS;
});

test('the first poll reads 30 days of paginated logs and counts every entry exactly', async () => {
  const s = setup();
  s.generate(5_000, now - 30 * DAY_MS + 60_000, now - 60_000);
  const r = await s.poll();
  expect(r).toMatchObject({ complete: true, ingested: 5_000, pages: 50, requests: 50 });
  expect(r.error).toBeUndefined();
  expect(s.logRequests()).toBe(50);
  expect(fake.requests.some((q) => q.includes(`/apps/${s.appId}/api_call_logs?duration=30&page_size=100`))).toBe(true);
  await expectExact(s);
  // The generated mix: 80 % 200, 10 % 401, 10 % 500.
  const days = [...s.truth.keys()];
  const daily = await s.usage.daily(s.appId, days);
  const failed = daily.reduce((a, d) => a + d.failed, 0);
  expect(failed).toBeGreaterThan(700);
  expect(failed).toBeLessThan(1300);
});

test('later polls read only the new entries (about N/100 + 1 pages, the smallest duration) and never double count', async () => {
  const s = setup();
  s.generate(3_000, now - 29 * DAY_MS, now - 60_000);
  await s.poll();
  s.logRequests();

  now += 15 * 60_000;
  s.generate(250, now - 14 * 60_000, now);
  const second = await s.poll();
  expect(second).toMatchObject({ complete: true, ingested: 250 });
  expect(s.logRequests()).toBeLessThanOrEqual(250 / 100 + 1);
  expect(fake.requests.at(-1)).toContain('duration=7');
  await expectExact(s);

  // Nothing new: only the 10-minute overlap is read again (~180 of the 250 entries: 2 pages),
  // nothing is folded twice.
  for (let i = 0; i < 3; i++) {
    now += 15 * 60_000;
    const again = await s.poll();
    expect(again).toMatchObject({ complete: true, ingested: 0, requests: 2 });
  }
  expect(s.logRequests()).toBe(6);
  await expectExact(s);

  // Ten days without a poll: the duration grows to cover the gap.
  now += 10 * DAY_MS;
  s.generate(120, now - 9 * DAY_MS, now - 1_000);
  expect(await s.poll()).toMatchObject({ complete: true, ingested: 120 });
  expect(fake.requests.at(-1)).toContain('duration=14');
  await expectExact(s);
});

test('counts stay exact when every third request is answered 429 QPS', async () => {
  const s = setup();
  s.generate(2_000, now - 20 * DAY_MS, now - 1_000);
  s.afterRequest.fn = (n) => {
    if (n % 3 === 0) fake.failNext(1, qpsLimited(new RegExp(`/apps/${s.appId}/api_call_logs`)));
  };
  const first = await s.poll();
  expect(first).toMatchObject({ complete: true, ingested: 2_000, pages: 20 });
  // The client retried: more HTTP requests than pages.
  expect(s.logRequests()).toBeGreaterThan(25);
  now += 30 * 60_000;
  s.generate(500, now - 20 * 60_000, now);
  expect(await s.poll()).toMatchObject({ complete: true, ingested: 500 });
  s.afterRequest.fn = undefined;
  await expectExact(s);
});

test('a Daily-limit pause mid-read leaves a resumable read; after the pause (token expired) the next poll completes exactly', async () => {
  const s = setup();
  // Not the whole 30 days: the 3-hour pause would push the oldest entries out of Zoom's window.
  s.generate(4_000, now - 29 * DAY_MS, now - 1_000);
  const retryAfter = new Date(now + 3 * 3_600_000).toISOString();
  s.afterRequest.fn = (n) => {
    if (n === 12) fake.failNext(1, dailyLimited(retryAfter, new RegExp(`/apps/${s.appId}/api_call_logs`)));
  };
  const paused = await s.poll();
  s.afterRequest.fn = undefined;
  expect(paused.complete).toBe(false);
  expect(paused.error).toBeInstanceOf(ZoomPausedError);
  expect(paused.pages).toBe(12);
  const state = await s.usage.readState(s.appId);
  expect(state.inProgress).toMatchObject({ cutoff: 0, token: expect.any(String) });
  expect(state.lastComplete).toBeUndefined();

  // While paused, nothing is sent and nothing changes.
  now += 60 * 60_000;
  s.logRequests();
  const stillPaused = await s.poll();
  expect(stillPaused.error).toBeInstanceOf(ZoomPausedError);
  expect(stillPaused.requests).toBe(0);
  expect(s.logRequests()).toBe(0);

  // Calls continued meanwhile; the pause ends long after the page token expired.
  s.generate(300, now - 50 * 60_000, now + 2 * 3_600_000);
  now += 2 * 3_600_000 + 60_000;
  const resumed = await s.poll();
  expect(resumed).toMatchObject({ complete: true });
  expect(resumed.error).toBeUndefined();
  await expectExact(s);
  const after = await s.usage.readState(s.appId);
  expect(after.inProgress).toBeUndefined();
  expect(after.lastComplete).toBe(now);
});

test('an expired page token (400, code 301) mid-read restarts from the newest page, once, and counts exactly', async () => {
  const s = setup();
  s.generate(1_500, now - 10 * DAY_MS, now - 1_000);
  s.afterRequest.fn = (n) => {
    if (n === 4) fake.failNext(1, { status: 400, body: { code: 301, message: 'Invalid next page token.' }, path: /api_call_logs.*next_page_token=/ });
  };
  const r = await s.poll();
  s.afterRequest.fn = undefined;
  expect(r).toMatchObject({ complete: true, ingested: 1_500 });
  // 4 pages, the refused request, then a full restart (15 pages) that skips what was folded.
  expect(r.requests).toBe(4 + 1 + 15);
  expect(r.skipped).toBeGreaterThanOrEqual(400 - 20);
  await expectExact(s);

  // Twice in a row: the read stops (resumable) instead of looping.
  now += 20 * 60_000;
  s.generate(400, now - 15 * 60_000, now);
  s.afterRequest.fn = (n) => {
    if (n === 21 || n === 23) fake.failNext(1, { status: 400, body: { code: 301, message: 'Invalid next page token.' }, path: /api_call_logs.*next_page_token=/ });
  };
  const twice = await s.poll();
  s.afterRequest.fn = undefined;
  expect(twice.complete).toBe(false);
  expect(twice.error?.code).toBe(301);
  now += 60_000;
  expect(await s.poll()).toMatchObject({ complete: true });
  await expectExact(s);
});

test('a read cut short after k pages (crash) resumes exactly, with or without a still-valid token', async () => {
  const s = setup();
  s.generate(2_345, now - 25 * DAY_MS, now - 1_000);
  const first = await s.poll(3);
  expect(first).toMatchObject({ complete: false, pages: 3, ingested: 300 });

  // Within the token's life: continues where it stopped (no page read twice).
  now += 5 * 60_000;
  s.logRequests();
  const second = await s.poll(5);
  expect(second).toMatchObject({ complete: false, pages: 5, ingested: 500 });
  expect(s.logRequests()).toBe(5);

  // New calls, then a restart after the token expired, cut short again before reaching the old zone.
  now += 20 * 60_000;
  s.generate(150, now - 9 * 60_000, now);
  const third = await s.poll(1);
  expect(third).toMatchObject({ complete: false, pages: 1, ingested: 100 });

  now += 20 * 60_000;
  s.generate(30, now - 5 * 60_000, now);
  const last = await s.poll();
  expect(last.complete).toBe(true);
  await expectExact(s);
  // A final poll finds nothing new.
  now += 60_000;
  expect(await s.poll()).toMatchObject({ complete: true, ingested: 0 });
  await expectExact(s);
});

test('two polls of the same app at once: one reads, the other steps aside', async () => {
  const s = setup();
  s.generate(800, now - 5 * DAY_MS, now - 1_000);
  const [a, b] = await Promise.all([s.poll(), s.poll()]);
  expect([a.busy, b.busy].filter(Boolean)).toHaveLength(1);
  expect(a.ingested + b.ingested).toBe(800);
  await expectExact(s);
});
