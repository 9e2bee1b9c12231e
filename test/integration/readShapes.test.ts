/**
 * The incremental call-log read under every shape Zoom's schema allows (issue 13), against the
 * fake Zoom HTTP server through the real client, on a real Redis: listings out of order, empty
 * pages that carry a token, entries without trace ids or with undecodable fields, late-published
 * entries, future timestamps, times in seconds, Get app without `app_id`, and one app's failure
 * among siblings. Each ends with exact counts, and the read's quality says what it met.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import type { ZoomAccount } from '../../src/config';
import { utcDay } from '../../src/kernel/format';
import { pollAccount } from '../../src/capabilities/evidence/jobs/pollAccount';
import { FUTURE_SKEW_MS, pollApp, type PollAppResult } from '../../src/capabilities/evidence/jobs/pollApp';
import { createLogger } from '../../src/log';
import { createAppStore } from '../../src/capabilities/evidence/stores/apps';
import { createHealthStore } from '../../src/capabilities/evidence/stores/health';
import { createKeys } from '../../src/platform/redis/keys';
import { createUsageStore, type UsageStore } from '../../src/capabilities/evidence/stores/usage';
import { DAY_MS, HOUR_MS } from '../../src/capabilities/evidence/stores/usageKeys';
import { createZoomClient, type ZoomClient } from '../../src/platform/zoom/client';
import type { ZoomApi } from '../../src/platform/zoom/types';
import type { FakeLogEntry, FakeZoom, LogShape } from '../../dev/fakes/zoomServer';
import { closePollFixture, openPollFixture } from '../helpers/pollFixture';
import { uniquePrefix } from '../helpers/redis';

const FILE_PREFIX = uniquePrefix('readShapes');
// Near real time (day hashes expire 400 days after their day), on whole seconds so that a time in
// seconds loses nothing.
let now = Math.floor(Date.now() / 60_000) * 60_000;
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

beforeEach(() => {
  now += DAY_MS;
});

interface Setup {
  appId: string;
  account: ZoomAccount;
  usage: UsageStore;
  client: ZoomClient;
  /** Entries added so far (ground truth). */
  truth: FakeLogEntry[];
  /** Adds entries at these times (ms), with a trace id unless `noTrace`. */
  add(times: number[], opts?: { noTrace?: boolean; status?: number }): FakeLogEntry[];
  shape(shape: LogShape): void;
  poll(maxPages?: number): Promise<PollAppResult>;
  logRequests(): number;
}

let traceSeq = 0;
function setup(): Setup {
  seq += 1;
  const keys = createKeys(`${FILE_PREFIX}-${seq}`);
  const suffix = `${seq}${randomBytes(3).toString('hex')}`;
  const account: ZoomAccount = { name: `acct${seq}`, accountId: `acc-${suffix}`, clientId: `cid-${suffix}`, clientSecret: `secret-${randomBytes(8).toString('hex')}`, apiUrl: fake.apiUrl };
  const appId = `app${suffix}`;
  fake.addAccount({ accountId: account.accountId, clientId: account.clientId, clientSecret: account.clientSecret });
  fake.addApp(account.accountId, { app_id: appId, app_name: 'Legacy JWT' });
  const client = createZoomClient({ account, oauthUrl: fake.oauthUrl, redis, keys, log, clock, addSecret: () => undefined, timeoutMs: 5_000, sleep: async () => undefined });
  const usage = createUsageStore({ redis, keys });
  const truth: FakeLogEntry[] = [];
  let counted = 0;
  const countLogRequests = () => fake.requests.filter((r) => r.includes(`/marketplace/apps/${appId}/api_call_logs`)).length;
  return {
    appId,
    account,
    usage,
    client,
    truth,
    add(times, opts = {}) {
      const entries = times.map((t, i): FakeLogEntry => {
        traceSeq += 1;
        const e: FakeLogEntry = {
          time: String(t),
          method: i % 2 ? 'POST' : 'GET',
          url_pattern: `https://api.zoom.us/v2/users/u${traceSeq}/meetings`,
          http_status: opts.status ?? (i % 5 === 0 ? 401 : 200),
        };
        if (!opts.noTrace) e.trace_id = `v=2.0;clid=shape;rid=${traceSeq}`;
        return e;
      });
      fake.addLogs(appId, entries);
      truth.push(...entries);
      return entries;
    },
    shape: (shape) => fake.setLogShape(appId, shape),
    poll: (maxPages) => pollApp({ zoom: client, usage, clock, log, appId, ...(maxPages !== undefined ? { maxPages } : {}) }),
    logRequests() {
      const total = countLogRequests();
      const delta = total - counted;
      counted = total;
      return delta;
    },
  };
}

/** Entries evenly spread over [fromMs, toMs], on whole seconds. */
function spread(count: number, fromMs: number, toMs: number): number[] {
  return Array.from({ length: count }, (_, i) => Math.floor((count === 1 ? fromMs : fromMs + ((toMs - fromMs) * i) / (count - 1)) / 1000) * 1000);
}

/** Every entry of the truth dated up to `until` is counted once: per day, in all, per endpoint. */
async function expectExact(s: Setup, until = now + FUTURE_SKEW_MS): Promise<void> {
  const due = s.truth.filter((e) => Number(e.time) <= until);
  const perDay = new Map<string, number>();
  for (const e of due) perDay.set(utcDay(Number(e.time)), (perDay.get(utcDay(Number(e.time))) ?? 0) + 1);
  const days = [...perDay.keys()].sort();
  const daily = await s.usage.daily(s.appId, days);
  expect(Object.fromEntries(daily.map((d) => [d.day, d.total]))).toEqual(Object.fromEntries(days.map((d) => [d, perDay.get(d)])));
  expect((await s.usage.summary(s.appId)).ingested).toBe(due.length);
  const endpoints = await s.usage.endpoints(s.appId, days);
  expect(endpoints.reduce((sum, e) => sum + e.count, 0)).toBe(due.length);
}

describe('order is checked, never assumed', () => {
  test.each([['oldest'], ['shuffled'], ['pages-shuffled']] as const)(
    'a listing %s first: the first poll counts all 1,234 calls of 7 days, later polls too, and health says it was read whole',
    async (order) => {
      const s = setup();
      s.add(spread(1_234, now - 7 * DAY_MS + HOUR_MS, now - 60_000));
      s.shape({ order, seed: seq });
      const first = await s.poll();
      expect(first).toMatchObject({ complete: true, ingested: 1_234 });
      await expectExact(s);

      // A later poll (the stop-at-the-cutoff rule would end it on its first page) still reads whole.
      now += 30 * 60_000;
      s.add(spread(150, now - 25 * 60_000, now - 1_000));
      expect(await s.poll()).toMatchObject({ complete: true, ingested: 150 });
      await expectExact(s);
      expect(first.unordered).toBe(true);
      expect((await s.usage.readState(s.appId)).quality).toMatchObject({ unordered: true });
      expect((await s.usage.summary(s.appId)).read?.lastClean).toBeUndefined();
    },
  );

  test('a newest-first listing costs what it did: about one page per 100 new entries, one more to reach the cutoff', async () => {
    const s = setup();
    s.add(spread(3_000, now - 20 * DAY_MS, now - 60_000));
    expect(await s.poll()).toMatchObject({ complete: true, ingested: 3_000, pages: 30 });
    s.logRequests();
    now += 15 * 60_000;
    s.add(spread(1_000, now - 14 * 60_000, now - 1_000));
    const r = await s.poll();
    expect(r).toMatchObject({ complete: true, ingested: 1_000 });
    expect(s.logRequests()).toBe(11);
    await expectExact(s);
    expect(r.unordered).toBe(false);
    const read = (await s.usage.summary(s.appId)).read;
    expect(read?.lastClean).toBe(now);
    expect(read?.quality).toEqual({ unordered: false, heldBack: 0, unreadable: 0, late: 0 });
  });
});

test('an empty page with a next page token does not end the read: its token is followed and older pages are counted', async () => {
  const s = setup();
  s.add(spread(800, now - 6 * DAY_MS, now - 60_000));
  s.shape({ emptyEvery: 2 });
  const r = await s.poll();
  expect(r).toMatchObject({ complete: true, ingested: 800 });
  await expectExact(s);

  // An incremental read meets the empty page after its first: the 50 new entries below it are
  // never asked for again if the read stops there (the watermark has moved above them).
  now += 20 * 60_000;
  s.add(spread(150, now - 14 * 60_000, now - 1_000));
  expect(await s.poll()).toMatchObject({ complete: true, ingested: 150 });
  await expectExact(s);
});

test('entries Zoom publishes late (a 401 after a disable, hours old) are counted once, shown as late, and lastFailure moves', async () => {
  const s = setup();
  // A quiet app: a few calls a day.
  s.add(spread(20, now - 5 * DAY_MS, now - 2 * HOUR_MS));
  expect(await s.poll()).toMatchObject({ complete: true, ingested: 20 });
  const before = await s.usage.summary(s.appId);

  now += 30 * 60_000;
  // Published now, dated 90 minutes before the newest entry the last read saw.
  const [late] = s.add([now - 30 * 60_000 - 2 * HOUR_MS - 90 * 60_000], { status: 401 });
  const r = await s.poll();
  expect(r).toMatchObject({ complete: true, ingested: 1 });
  await expectExact(s);
  const after = await s.usage.summary(s.appId);
  expect(after.lastFailure).toBe(Number(late!.time));
  expect(after.lastFailure).not.toBe(before.lastFailure);
  expect(r.late).toBe(1);
  expect(after.late).toBe(1);
  expect((await s.usage.readState(s.appId)).quality?.late).toBe(1);

  // Seen again by the next reads: never counted twice.
  now += 30 * 60_000;
  expect(await s.poll()).toMatchObject({ complete: true, ingested: 0 });
  await expectExact(s);
});

test('a timestamp next year is held back: it does not move the watermark, counting goes on, lastCall stays real', async () => {
  const s = setup();
  s.shape({ listFuture: true });
  s.add(spread(50, now - 2 * DAY_MS, now - 60_000));
  const [future] = s.add([now + 365 * DAY_MS]);
  const first = await s.poll();
  expect(first).toMatchObject({ complete: true, ingested: 50 });
  const summary = await s.usage.summary(s.appId);
  expect(summary.lastCall).toBeLessThanOrEqual(now);
  expect((await s.usage.readState(s.appId)).watermark).toBeLessThan(Number(future!.time));

  now += 30 * 60_000;
  s.add(spread(30, now - 25 * 60_000, now - 1_000));
  const second = await s.poll();
  expect(second).toMatchObject({ complete: true, ingested: 30 });
  await expectExact(s);
  expect(first.heldBack).toBe(1);
  expect(second.heldBack).toBe(1);
  expect((await s.usage.summary(s.appId)).read?.quality?.heldBack).toBe(1);
});

test('entries without trace_id, method or url_pattern are counted, once, across polls', async () => {
  const s = setup();
  s.add(spread(120, now - 3 * DAY_MS, now - 60_000), { noTrace: true });
  fake.addLogs(s.appId, [{ time: String(now - 30_000) }]);
  s.truth.push({ time: String(now - 30_000) });
  expect(await s.poll()).toMatchObject({ complete: true, ingested: 121 });
  now += 15 * 60_000;
  s.add(spread(10, now - 14 * 60_000, now - 1_000), { noTrace: true });
  expect(await s.poll()).toMatchObject({ complete: true, ingested: 10 });
  now += 15 * 60_000;
  expect(await s.poll()).toMatchObject({ complete: true, ingested: 0 });
  await expectExact(s);
});

test('time in epoch seconds is recognised by its magnitude: the calls land on their days', async () => {
  const s = setup();
  s.shape({ timeInSeconds: true });
  s.add(spread(300, now - 10 * DAY_MS, now - 60_000));
  expect(await s.poll()).toMatchObject({ complete: true, ingested: 300 });
  await expectExact(s);
  expect((await s.usage.summary(s.appId)).lastCall).toBe(Number(s.truth.at(-1)!.time));
});

test('undecodable entries are dropped and said so: the read is degraded, the rest is counted', async () => {
  const s = setup();
  s.shape({ unreadablePerPage: 1 });
  s.add(spread(250, now - 3 * DAY_MS, now - 60_000));
  const r = await s.poll();
  expect(r).toMatchObject({ complete: true, ingested: 250 });
  await expectExact(s);
  expect(r.unreadable).toBe(3);
  const read = (await s.usage.summary(s.appId)).read;
  expect(read?.quality?.unreadable).toBe(3);
  expect(read?.lastClean).toBeUndefined();

  // A clean read afterwards makes the evidence whole again.
  s.shape({});
  now += 15 * 60_000;
  expect(await s.poll()).toMatchObject({ complete: true, unreadable: 0 });
  expect((await s.usage.summary(s.appId)).read?.lastClean).toBe(now);
});

test('Get app without app_id (optional in the schema) is the app asked for, and the poll goes on', async () => {
  const s = setup();
  fake.addApp(s.account.accountId, { app_id: s.appId, app_name: 'Legacy JWT', getWithoutAppId: true });
  const info = await s.client.getApp(s.appId);
  expect(info).toMatchObject({ app_id: s.appId, app_name: 'Legacy JWT' });

  const keys = createKeys(`${FILE_PREFIX}-acct-${seq}`);
  const apps = createAppStore(redis, keys, [s.account.name]);
  await apps.track({ appId: s.appId, account: s.account.name, name: 'Legacy JWT', trackedBy: 'test' }, now);
  s.add(spread(40, now - DAY_MS, now - 60_000));
  const usage = createUsageStore({ redis, keys });
  const result = await pollAccount({ account: s.account.name, zoom: s.client, apps, usage, health: createHealthStore({ redis, keys }), clock, log });
  expect(result.errors).toEqual([]);
  expect(result).toMatchObject({ complete: true, ingested: 40 });
});

describe('one account poll', () => {
  function account(apps: number) {
    const s = setup();
    const keys = createKeys(`${FILE_PREFIX}-multi-${seq}`);
    const appStore = createAppStore(redis, keys, [s.account.name]);
    const usage = createUsageStore({ redis, keys });
    const health = createHealthStore({ redis, keys });
    const ids = Array.from({ length: apps }, (_, i) => `${s.appId}x${i}`);
    return {
      s, keys, appStore, usage, health, ids,
      async track() {
        for (const [i, id] of ids.entries()) {
          fake.addApp(s.account.accountId, { app_id: id, app_name: `App ${i}` });
          await appStore.track({ appId: id, account: s.account.name, name: `App ${i}`, trackedBy: 'test' }, now);
        }
      },
    };
  }

  test("one app's failure stops its siblings: when the poll ends, no read of any app is still running", async () => {
    const a = account(3);
    await a.track();
    for (const [i, id] of a.ids.entries()) {
      fake.generateLogs(id, { count: 3_000, fromMs: now - 10 * DAY_MS, toMs: now - 60_000, seed: i + 1 });
    }
    let running = 0;
    let pagesAfterFailure = 0;
    let failed = false;
    const track = <T>(p: Promise<T>): Promise<T> => {
      running++;
      return p.finally(() => running--);
    };
    // Our own interfaces wrapped (not the wire libraries): one app's fold meets a Redis failure.
    const zoom: ZoomApi & { stats?: () => { requests: number } } = {
      ...a.s.client,
      listCallLogs: (appId, options) => {
        if (failed) pagesAfterFailure++;
        return track(a.s.client.listCallLogs(appId, options));
      },
    };
    let folds = 0;
    const usage: UsageStore = {
      ...a.usage,
      foldPage: (input) => {
        if (input.appId === a.ids[1] && ++folds === 3) {
          failed = true;
          return track(Promise.reject(new Error('Redis went away')));
        }
        return track(a.usage.foldPage(input));
      },
    };
    await expect(pollAccount({ account: a.s.account.name, zoom, apps: a.appStore, usage, health: a.health, clock, log })).rejects.toThrow('Redis went away');
    expect(running).toBe(0);
    // Each sibling may finish the page it had in hand (one prefetch), never walk on.
    expect(pagesAfterFailure).toBeLessThanOrEqual(2);
  });

  test('apps are read in a rotating order: each poll starts with a different app', async () => {
    const a = account(3);
    await a.track();
    const asked: string[] = [];
    const zoom: ZoomApi = { ...a.s.client, getApp: (appId) => (asked.push(appId), a.s.client.getApp(appId)) };
    const firstApp = async () => {
      asked.length = 0;
      await pollAccount({ account: a.s.account.name, zoom, apps: a.appStore, usage: a.usage, health: a.health, clock, log });
      expect([...asked].sort()).toEqual([...a.ids].sort());
      return asked[0];
    };
    const order = [await firstApp(), await firstApp(), await firstApp()];
    expect(new Set(order).size).toBe(3);
  });
});

describe('the read under every shape at once (property)', () => {
  test('ends with exact counts whatever the order, gaps, oddities and interruptions', async () => {
    const shapeArb = fc.record({
      order: fc.constantFrom('newest', 'oldest', 'shuffled', 'pages-shuffled'),
      emptyEvery: fc.option(fc.integer({ min: 2, max: 4 }), { nil: undefined }),
      unreadablePerPage: fc.integer({ min: 0, max: 1 }),
      timeInSeconds: fc.boolean(),
      seed: fc.integer({ min: 1, max: 1_000 }),
    });
    const roundArb = fc.record({
      shape: shapeArb,
      fresh: fc.integer({ min: 0, max: 40 }),
      late: fc.integer({ min: 0, max: 4 }),
      future: fc.integer({ min: 0, max: 1 }),
      noTrace: fc.boolean(),
      maxPages: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
      /** Minutes to the next poll: past 15 the page token has expired. */
      gapMin: fc.constantFrom(1, 5, 20, 90),
      qps: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 50, max: 400 }), fc.array(roundArb, { minLength: 1, maxLength: 6 }), async (base, rounds) => {
        const s = setup();
        s.add(spread(base, now - 6 * DAY_MS, now - 10 * 60_000));
        for (const round of rounds) {
          s.shape({ ...round.shape, listFuture: true });
          const state = await s.usage.readState(s.appId);
          const watermark = state.watermark;
          if (round.fresh) s.add(spread(round.fresh, now - 9 * 60_000, now - 1_000), { noTrace: round.noTrace });
          // Published late: dated within the lookback below what the last read saw, before a read
          // that starts on a listing out of order (so it is read whole). A newest-first read sees
          // only the pages it reads anyway: a late entry deeper down is not counted (README).
          const readsWhole = state.inProgress === undefined && (round.shape.order === 'oldest' || round.shape.order === 'shuffled');
          if (round.late && watermark !== undefined && readsWhole) s.add(spread(round.late, watermark - 4 * HOUR_MS, watermark - 20 * 60_000));
          if (round.future) s.add([now + 2 * HOUR_MS]);
          if (round.qps) fake.failNext(1, { status: 429, headers: { 'X-RateLimit-Type': 'QPS' }, body: { code: 429, message: 'rate' }, path: new RegExp(`/apps/${s.appId}/api_call_logs`) });
          await s.poll(round.maxPages);
          now += round.gapMin * 60_000;
        }
        // Then Zoom behaves and polls run to the end: every entry due is counted once.
        s.shape({ listFuture: true });
        now += 3 * HOUR_MS;
        for (let i = 0; i < 3; i++) {
          const r = await s.poll();
          if (r.complete) break;
          now += 60_000;
        }
        await expectExact(s);
      }),
      { numRuns: 40 },
    );
  }, 240_000);
});
