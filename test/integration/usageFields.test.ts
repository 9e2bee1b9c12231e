/**
 * Zoom's usage fields of List apps (changelog 2026-11-09) steer the poll, against the fake Zoom
 * over HTTP and a real Redis: idle apps cost the list plus one read an hour, new calls are read at
 * the next poll, and with the fields absent, off or lying no entry is lost or counted twice.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { ZoomAccount } from '../../src/config';
import { pollAccount, type PollEvent } from '../../src/capabilities/evidence/jobs/pollAccount';
import { createLogger } from '../../src/log';
import { createAppStore, type AppStore } from '../../src/capabilities/evidence/stores/apps';
import { createHealthStore } from '../../src/capabilities/evidence/stores/health';
import { createKeys } from '../../src/platform/redis/keys';
import { createUsageStore, type UsageStore } from '../../src/capabilities/evidence/stores/usage';
import { DAY_MS } from '../../src/capabilities/evidence/stores/usageKeys';
import { createZoomClient } from '../../src/platform/zoom/client';
import type { FakeZoom, MetricsMode } from '../../dev/fakes/zoomServer';
import { closePollFixture, openPollFixture } from '../helpers/pollFixture';
import { uniquePrefix } from '../helpers/redis';

const FILE_PREFIX = uniquePrefix('usageFields');
const MIN = 60_000;
let now = Math.floor(Date.now() / MIN) * MIN;
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
  account: ZoomAccount;
  apps: AppStore;
  usage: UsageStore;
  events: PollEvent[];
  ids: string[];
  poll(): ReturnType<typeof pollAccount>;
  /** API requests the fake received during `fn`. */
  spent(fn: () => Promise<unknown>): Promise<string[]>;
}

/** An account with `n` tracked apps, each with 300 calls spread over the 3 days before an hour ago. */
async function setup(mode: MetricsMode, n = 10): Promise<Setup> {
  seq += 1;
  const keys = createKeys(`${FILE_PREFIX}-${seq}`);
  const suffix = `${seq}${randomBytes(3).toString('hex')}`;
  const account: ZoomAccount = {
    name: `acct${seq}`,
    accountId: `acc-${suffix}`,
    clientId: `cid-${suffix}`,
    clientSecret: `secret-${randomBytes(10).toString('hex')}`,
    apiUrl: fake.apiUrl,
  };
  fake.addAccount({ accountId: account.accountId, clientId: account.clientId, clientSecret: account.clientSecret, metrics: mode });
  const apps = createAppStore(redis, keys, [account.name]);
  const usage = createUsageStore({ redis, keys });
  const health = createHealthStore({ redis, keys });
  const events: PollEvent[] = [];
  const zoom = createZoomClient({ account, oauthUrl: fake.oauthUrl, redis, keys, log, clock, addSecret: () => undefined, timeoutMs: 5_000, sleep: async () => undefined });
  const ids = Array.from({ length: n }, (_, i) => `idle${i}x${suffix}`);
  for (const [i, id] of ids.entries()) {
    fake.addApp(account.accountId, { app_id: id, app_name: `Idle ${i}` });
    fake.generateLogs(id, { count: 300, fromMs: now - 3 * DAY_MS, toMs: now - 60 * MIN, seed: i + 1, statusMix: { 200: 9, 500: 1 } });
    await apps.track({ appId: id, account: account.name, name: `Idle ${i}`, trackedBy: 'U1' }, now);
  }
  return {
    account,
    apps,
    usage,
    events,
    ids,
    poll: () => pollAccount({ account: account.name, zoom, apps, usage, health, clock, log, onEvent: (e) => void events.push(e) }),
    async spent(fn) {
      const before = fake.requests.length;
      await fn();
      return fake.requests.slice(before);
    },
  };
}

async function ingested(s: Setup): Promise<number[]> {
  return Promise.all(s.ids.map(async (id) => (await s.usage.summary(id)).ingested));
}

/** Polls at 0, 15, 30 and 45 minutes (POLL_EVERY=15m), ending 15 minutes after the last: one hour. */
async function idleHour(s: Setup): Promise<string[]> {
  const lines: string[] = [];
  for (let i = 0; i < 4; i++) {
    lines.push(...(await s.spent(() => s.poll())));
    now += 15 * MIN;
  }
  return lines;
}

beforeEach(() => {
  now += DAY_MS;
});

test('with the fields: 10 idle apps cost the list each poll and one read per app an hour, no Get app; new calls are read at the next poll, once', async () => {
  const s = await setup('on');
  // The first poll reads everything (no read yet), the next ones only list.
  const first = await s.spent(() => s.poll());
  expect(first.filter((l) => l.includes('/api_call_logs')).length).toBe(10 * 3);
  expect(await ingested(s)).toEqual(s.ids.map(() => 300));
  now += 15 * MIN;

  const hour = await idleHour(s);
  const list = hour.filter((l) => l.startsWith('GET /marketplace/apps?'));
  const logs = hour.filter((l) => l.includes('/api_call_logs'));
  expect(list).toHaveLength(4);
  // Polls at +15, +30, +45 list only; the one at +60 (an hour after the first read) reads each app once.
  expect(logs).toHaveLength(10);
  expect(hour.filter((l) => /^GET \/marketplace\/apps\/[^/?]+$/.test(l))).toEqual([]);
  expect(hour.length).toBeLessThanOrEqual(20);
  expect(await ingested(s)).toEqual(s.ids.map(() => 300));

  // 1,000 new calls per app: the list says so, the next poll reads them, within 1.1× the minimum.
  for (const [i, id] of s.ids.entries()) fake.generateLogs(id, { count: 1_000, fromMs: now - 14 * MIN, toMs: now - 1_000, seed: 100 + i });
  const busy = await s.spent(() => s.poll());
  const minimum = 1 + 10 * (Math.ceil(1_000 / 100) + 1);
  expect(busy.length).toBeGreaterThanOrEqual(minimum);
  expect(busy.length / minimum).toBeLessThanOrEqual(1.1);
  expect(await ingested(s)).toEqual(s.ids.map(() => 1_300));

  // Nothing new: listed only; a poll after the hour reads again and counts nothing twice.
  now += 15 * MIN;
  expect((await s.spent(() => s.poll())).filter((l) => l.includes('/api_call_logs'))).toEqual([]);
  now += 60 * MIN;
  // Each app read once, from its first page (1,000 calls in the last 10 minutes take several pages).
  const again = (await s.spent(() => s.poll())).filter((l) => l.includes('/api_call_logs'));
  expect(again.filter((l) => !l.includes('next_page_token'))).toHaveLength(10);
  expect(await ingested(s)).toEqual(s.ids.map(() => 1_300));
  // Zoom's figures are kept for status and app.
  const records = await s.apps.zoomUsage(s.ids);
  expect(records.get(s.ids[0]!)?.usage).toMatchObject({ totalCalls: 1_300, durationDays: 30 });
});

test.each<MetricsMode>(['absent', 'off'])('with the fields %s, every poll lists, looks up and reads every app, as before', async (mode) => {
  const s = await setup(mode);
  await s.poll();
  now += 15 * MIN;
  const hour = await idleHour(s);
  // Each poll: 1 list + 10 Get app + 10 call-log pages (one page reaches below the cutoff).
  expect(hour.filter((l) => /^GET \/marketplace\/apps\/[^/?]+$/.test(l))).toHaveLength(40);
  expect(hour.filter((l) => l.includes('/api_call_logs'))).toHaveLength(40);
  expect(hour).toHaveLength(84);
  for (const [i, id] of s.ids.entries()) fake.generateLogs(id, { count: 1_000, fromMs: now - 14 * MIN, toMs: now - 1_000, seed: 100 + i });
  await s.poll();
  expect(await ingested(s)).toEqual(s.ids.map(() => 1_300));
  now += 15 * MIN;
  await s.poll();
  expect(await ingested(s)).toEqual(s.ids.map(() => 1_300));
});

test('apps busy until they went quiet: the hourly read with unchanged figures checks one page, and still counts what the figures missed', async () => {
  const s = await setup('on', 10);
  // 150 calls in the 10 minutes before each app's newest: with the overlap every read is two pages.
  for (const [i, id] of s.ids.entries()) fake.generateLogs(id, { count: 150, fromMs: now - 60 * MIN - 9 * MIN, toMs: now - 60 * MIN + 500, seed: 50 + i });
  await s.poll();
  expect(await ingested(s)).toEqual(s.ids.map(() => 450));
  now += 15 * MIN;
  const hour = await idleHour(s);
  // 4 lists and, at the hour, one page per app: the top of the listing, no overlap.
  expect(hour.filter((l) => l.includes('/api_call_logs'))).toHaveLength(10);
  expect(hour.length).toBeLessThanOrEqual(20);
  expect(await ingested(s)).toEqual(s.ids.map(() => 450));

  // Calls the figures do not show (lagging): the next hourly read finds them at the top, once.
  const first = s.ids[0]!;
  const figures = (await s.apps.zoomUsage([first])).get(first)!.usage;
  fake.setAppMetrics(first, { last_used: new Date(figures.lastUsed!).toISOString(), total_calls: figures.totalCalls, failed_calls: figures.failedCalls });
  fake.generateLogs(s.ids[0]!, { count: 30, fromMs: now - 5 * MIN, toMs: now - 1_000, seed: 999 });
  now += 60 * MIN;
  await s.poll();
  expect((await s.usage.summary(s.ids[0]!)).ingested).toBe(480);
  await s.poll();
  expect((await s.usage.summary(s.ids[0]!)).ingested).toBe(480);
});

test('a lying last_used (older than the newest call) and frozen totals delay the read by at most an hour; nothing is lost or counted twice', async () => {
  const s = await setup('on', 2);
  await s.poll();
  const [liar, honest] = s.ids as [string, string];
  // Zoom keeps saying what it said before the new calls.
  const before = (await s.apps.zoomUsage([liar])).get(liar)!.usage;
  fake.setAppMetrics(liar, {
    last_used: new Date(before.lastUsed!).toISOString(),
    total_calls: before.totalCalls,
    failed_calls: before.failedCalls,
  });
  now += 10 * MIN;
  fake.generateLogs(liar, { count: 250, fromMs: now - 5 * MIN, toMs: now - 1_000, seed: 7 });
  fake.generateLogs(honest, { count: 250, fromMs: now - 5 * MIN, toMs: now - 1_000, seed: 8 });

  now += 5 * MIN;
  const r = await s.poll();
  expect(r.idle).toBe(1);
  expect(await ingested(s)).toEqual([300, 550]);
  // More calls Zoom does not report either, then the hourly read: all of them, once.
  now += 20 * MIN;
  fake.generateLogs(liar, { count: 50, fromMs: now - 5 * MIN, toMs: now - 1_000, seed: 9 });
  now += 15 * MIN;
  expect((await s.poll()).idle).toBe(2);
  now += 15 * MIN;
  // An hour after its last full read the liar is read; the honest app, read 50 minutes ago, is not.
  const hourly = await s.poll();
  expect(hourly.idle).toBe(1);
  expect(await ingested(s)).toEqual([600, 550]);
  now += 60 * MIN;
  await s.poll();
  expect(await ingested(s)).toEqual([600, 550]);
});

test('a tracked app missing from the list gets its Get app: removed outside the bot is marked gone', async () => {
  const s = await setup('on', 2);
  await s.poll();
  const [gone] = s.ids as [string, string];
  fake.removeApp(gone);
  now += 15 * MIN;
  const lines = await s.spent(() => s.poll());
  expect(lines.filter((l) => /^GET \/marketplace\/apps\/[^/?]+$/.test(l))).toEqual([`GET /marketplace/apps/${gone}`]);
  expect(s.events).toEqual([{ type: 'app_gone', account: s.account.name, appId: gone, name: 'Idle 0' }]);
  expect((await s.apps.get(gone))?.goneAt).toBe(now);
});

test('unreadable usage fields are left out one by one, never read as zero; candidates carry the readable ones', async () => {
  const s = await setup('on', 1);
  const untracked = `cand${s.ids[0]}`;
  fake.addApp(s.account.accountId, {
    app_id: untracked,
    app_name: 'Webinar Sync',
    metrics: { last_used: 'yesterday', total_calls: '1204', failed_calls: -3, active_users: 2.5, works_with: ['ZOOM_WEBINAR', 7], first_used: 1_700_000_000 },
  });
  await s.poll();
  const [candidate] = await s.apps.candidates();
  expect(candidate?.usage).toEqual({ firstUsed: 1_700_000_000_000, totalCalls: 1204, connections: 0, adds: 1, durationDays: 30, worksWith: ['ZOOM_WEBINAR'] });
});
