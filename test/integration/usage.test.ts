/**
 * Usage aggregates on a real Redis: what a folded page adds up to (days, hours, endpoints,
 * summary, sample), the queries the Slack views call, retention, and that memory is bounded by
 * days and windows, never by entries. The read algorithm is also checked here against an
 * in-test ZoomApi (our own interface) under random interruptions; pollApp.test.ts runs it
 * against the fake Zoom HTTP server.
 */
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { utcDay } from '../../src/kernel/format';
import { pollApp, toFoldEntry } from '../../src/capabilities/evidence/jobs/pollApp';
import { createLogger } from '../../src/log';
import { createKeys, type Keys } from '../../src/platform/redis/keys';
import { createUsageStore, type UsageStore } from '../../src/capabilities/evidence/stores/usage';
import { DAY_MS, HOUR_MS } from '../../src/capabilities/evidence/stores/usageKeys';
import { LOOKBACK_MS, OVERLAP_MS, SEEN_CAP } from '../../src/capabilities/evidence/stores/usageIngest';
import { ZoomError, ZoomPausedError } from '../../src/platform/zoom/errors';
import type { LogDuration, ZoomApi, ZoomCallLog } from '../../src/platform/zoom/types';
import { countKeys, dropPrefix, openRedis, uniquePrefix } from '../helpers/redis';

const FILE_PREFIX = uniquePrefix('usage');
// Near real time: day hashes expire 400 days after their day, so fake dates must not be ancient.
const T0 = Math.floor(Date.now() / HOUR_MS) * HOUR_MS + 30 * 60_000;
const { log } = createLogger({ level: 'silent', secrets: [] });

let redis: Redis;
let n = 0;

beforeAll(() => {
  redis = openRedis({ enableAutoPipelining: true, maxRetriesPerRequest: 2 });
});

afterAll(async () => {
  await dropPrefix(FILE_PREFIX, { family: true });
  await redis.quit();
});

function setup(): { keys: Keys; usage: UsageStore; prefix: string } {
  const prefix = `${FILE_PREFIX}-${++n}`;
  const keys = createKeys(prefix);
  return { keys, prefix, usage: createUsageStore({ redis, keys }) };
}

let traceSeq = 0;
function call(time: number, url = 'https://api.zoom.us/v2/users/u1@x.com/meetings', status = 200, method = 'GET'): ZoomCallLog {
  return { url_pattern: url, time: String(time), http_status: status, method, trace_id: `v=2.0;clid=t;rid=${++traceSeq}` };
}

/** Folds entries as one complete read (newest first, pages of 100). */
async function foldAll(usage: UsageStore, appId: string, entries: ZoomCallLog[], now: number): Promise<string[]> {
  const sorted = [...entries].sort((a, b) => Number(b.time) - Number(a.time));
  const lock = await usage.acquireReadLock(appId);
  if (!lock) throw new Error('lock busy');
  const families: string[] = [];
  const state = await usage.readState(appId);
  const cutoff = state.watermark === undefined ? 0 : state.watermark - OVERLAP_MS;
  try {
    for (let i = 0; i === 0 || i < sorted.length; i += 100) {
      const page = sorted.slice(i, i + 100).map((e) => toFoldEntry(e)!);
      const r = await usage.foldPage({
        appId,
        entries: page,
        cutoff,
        firstOfAttempt: i === 0,
        nextPageToken: i + 100 < sorted.length ? `p${i + 100}` : '',
        duration: 30,
        now,
        lockToken: lock,
        ordered: true,
        heldBack: 0,
        unreadable: 0,
      });
      families.push(...r.newFamilies);
      if (r.complete) break;
    }
  } finally {
    await usage.releaseReadLock(appId, lock);
  }
  return families;
}

/**
 * A ZoomApi over an in-memory log: newest first, `duration` relative to the clock, opaque page
 * cursors that expire after 15 minutes (code 301), and scripted Daily-limit pauses.
 */
function memoryZoom(clock: () => number) {
  let logs: Array<ZoomCallLog & { seq: number; t: number }> = [];
  let dirty = false;
  let seq = 0;
  let failAfterPages: number | undefined;
  const stats = { requests: 0 };
  /** Newest-first order: time descending, then insertion descending. */
  const before = (a: { t: number; seq: number }, b: { t: number; seq: number }) => a.t > b.t || (a.t === b.t && a.seq > b.seq);
  /** First index whose entry comes after `c` in that order. */
  const firstAfter = (c: { t: number; seq: number }) => {
    let lo = 0;
    let hi = logs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(logs[mid]!, c) || (logs[mid]!.t === c.t && logs[mid]!.seq === c.seq)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const api: ZoomApi = {
    account: 'mem',
    listApps: async () => [],
    getApp: async (appId) => ({ app_id: appId, app_name: appId }),
    deleteApp: async () => 'deleted',
    async listCallLogs(_appId, o: { duration: LogDuration; pageSize: number; nextPageToken?: string }) {
      stats.requests++;
      if (failAfterPages !== undefined && failAfterPages-- <= 0) {
        failAfterPages = undefined;
        throw new ZoomPausedError({ account: 'mem', until: clock() + HOUR_MS });
      }
      const now = clock();
      if (dirty) {
        logs = logs.sort((a, b) => b.t - a.t || b.seq - a.seq);
        dirty = false;
      }
      // Entries after `now` have not happened yet.
      let i = firstAfter({ t: now, seq: Number.POSITIVE_INFINITY });
      if (o.nextPageToken) {
        const [issued, time, s] = o.nextPageToken.split(':').map(Number) as [number, number, number];
        if (now - issued > 15 * 60_000) {
          throw new ZoomError({ kind: 'client', account: 'mem', status: 400, code: 301, zoomMessage: 'Invalid next page token.' });
        }
        i = firstAfter({ t: time, seq: s });
      }
      const oldest = now - o.duration * DAY_MS;
      const page: Array<ZoomCallLog & { seq: number; t: number }> = [];
      let more = false;
      for (; i < logs.length; i++) {
        const e = logs[i]!;
        if (e.t < oldest) break;
        if (page.length === o.pageSize) {
          more = true;
          break;
        }
        page.push(e);
      }
      const last = page[page.length - 1];
      return {
        entries: page.map(({ seq: _s, t: _t, ...rest }) => rest),
        nextPageToken: more && last ? `${now}:${last.t}:${last.seq}` : '',
      };
    },
  };
  return {
    api,
    stats,
    add(entries: ZoomCallLog[]) {
      for (const e of entries) logs.push({ ...e, seq: ++seq, t: Number(e.time) });
      dirty = true;
    },
    /** The next listCallLogs after `pages` successful ones throws a Daily-limit pause. */
    pauseAfter(pages: number | undefined) {
      failAfterPages = pages;
    },
  };
}

describe('folding a read', () => {
  test('adds up totals, status classes, endpoints, first/last seen, summary and families', async () => {
    const { usage } = setup();
    const day1 = T0 - 2 * DAY_MS;
    const entries = [
      call(day1 + 1_000),
      call(day1 + 2_000, 'https://api.zoom.us/v2/users/u2@x.com/meetings', 201),
      call(day1 + 3_000, 'https://api.zoom.us/v2/users/u3@x.com/meetings', 404),
      call(day1 + 4_000, 'https://api.zoom.us/v2/scim2/Users/abc123', 500, 'PATCH'),
      call(T0 - 60_000, 'https://api.zoom.us/v2/report/daily', 200),
      call(T0 - 30_000, 'https://api.zoom.us/v2/users/u9@x.com/meetings', 302),
    ];
    const families = await foldAll(usage, 'app1', entries, T0);

    const daily = await usage.daily('app1', [utcDay(day1), utcDay(T0 - DAY_MS), utcDay(T0 - 30_000)]);
    expect(daily[0]).toMatchObject({ total: 4, ok: 2, failed: 2, byClass: { '2xx': 2, '3xx': 0, '4xx': 1, '5xx': 1, other: 0 } });
    expect(daily[1]).toMatchObject({ total: 0, ok: 0, failed: 0 });
    expect(daily[2]).toMatchObject({ total: 2, ok: 2, failed: 0 });

    const rows = await usage.endpoints('app1', [utcDay(day1), utcDay(T0 - 30_000)]);
    const meetings = rows.find((r) => r.template === '/users/{userId}/meetings');
    expect(rows[0]).toBe(meetings);
    expect(meetings).toMatchObject({ method: 'GET', count: 4, errors: 1, first: day1 + 1_000, last: T0 - 30_000 });
    expect(rows.map((r) => r.count)).toEqual([4, 1, 1]);
    expect(rows.find((r) => r.method === 'PATCH')).toMatchObject({ errors: 1, count: 1 });
    expect(await usage.topEndpoints('app1', [utcDay(day1), utcDay(T0 - 30_000)], 1)).toEqual([meetings]);

    const summary = await usage.summary('app1');
    expect(summary).toMatchObject({
      ingested: 6,
      lastCall: T0 - 30_000,
      lastSuccess: T0 - 30_000,
      lastFailure: day1 + 4_000,
      firstSeen: day1 + 1_000,
      lastComplete: T0,
    });
    expect(summary.families).toEqual([...families].sort());
    expect(families.length).toBeGreaterThanOrEqual(2);
  });

  test('an entry folded twice in one read, or in a later read within the overlap, counts once', async () => {
    const { usage } = setup();
    const a = call(T0 - 5 * 60_000);
    const b = call(T0 - 4 * 60_000);
    await foldAll(usage, 'app', [a, b, a], T0);
    // The next read sees both again (inside the 10-minute overlap) plus one new entry.
    await foldAll(usage, 'app', [a, b, call(T0 + 60_000)], T0 + 2 * 60_000);
    expect((await usage.summary('app')).ingested).toBe(3);
    const days = [...new Set([utcDay(T0 - 5 * 60_000), utcDay(T0 + 60_000)])];
    expect((await usage.daily('app', days)).reduce((sum, d) => sum + d.total, 0)).toBe(3);
  });

  test('only new families are reported, once', async () => {
    const { usage } = setup();
    const first = await foldAll(usage, 'app', [call(T0 - 1000, 'https://api.zoom.us/v2/users/me/meetings')], T0);
    const again = await foldAll(usage, 'app', [call(T0 + 1000, 'https://api.zoom.us/v2/users/me/meetings')], T0 + 2000);
    const fresh = await foldAll(usage, 'app', [call(T0 + 3000, 'https://api.zoom.us/v2/rooms/abc'), call(T0 + 3001, 'https://api.zoom.us/v2/rooms/xyz')], T0 + 4000);
    expect(first).toHaveLength(1);
    expect(again).toEqual([]);
    expect(fresh).toHaveLength(1);
    expect(fresh[0]).not.toBe(first[0]);
  });

  test('the sample keeps the 200 newest raw entries, newest first, whatever the folding order', async () => {
    const { usage } = setup();
    const old = Array.from({ length: 250 }, (_, i) => call(T0 - DAY_MS + i * 1000));
    await foldAll(usage, 'app', old, T0);
    const newer = Array.from({ length: 20 }, (_, i) => call(T0 + i * 1000, 'https://api.zoom.us/v2/report/daily'));
    await foldAll(usage, 'app', newer, T0 + 60_000);
    const sample = await usage.sample('app', 500);
    expect(sample).toHaveLength(200);
    expect(sample[0]).toMatchObject({ time: T0 + 19_000, method: 'GET', key: 'GET /report/daily', status: 200 });
    expect(sample.map((s) => s.time)).toEqual([...sample.map((s) => s.time)].sort((x, y) => y - x));
    expect(sample[199]!.time).toBe(T0 - DAY_MS + 70_000);
    expect(await usage.sample('app', 3)).toHaveLength(3);
  });

  test('day hashes expire 400 days after their day', async () => {
    const { usage, keys } = setup();
    const t = T0 - 3 * DAY_MS;
    await foldAll(usage, 'app', [call(t)], T0);
    const dayStart = Math.floor(t / DAY_MS) * DAY_MS;
    const expireAt = await redis.call('PEXPIRETIME', keys.k('usage', 'app', utcDay(t)));
    expect(Number(expireAt)).toBe(dayStart + DAY_MS + 400 * DAY_MS);
    // Summary and read state are not day data: they stay.
    expect(await redis.pttl(keys.k('usage', 'app'))).toBe(-1);
  });
});

describe('windows', () => {
  test('24 h and 7 d windows and their previous periods are exact to the hour', async () => {
    const { usage } = setup();
    const nowHourStart = Math.floor(T0 / HOUR_MS) * HOUR_MS;
    const at = (hoursAgo: number, status = 200) => call(nowHourStart - hoursAgo * HOUR_MS + 5 * 60_000, undefined, status);
    const entries = [
      at(0), at(0, 500), at(23), // last 24 buckets: 3 (1 failure)
      at(24), at(47, 404), // previous 24: 2 (1 failure)
      at(48), at(167), // rest of the last 7 days: 2
      at(168), at(335), // previous 7 days: 2
      at(336), // older: counted nowhere
    ];
    await foldAll(usage, 'app', entries, T0);
    const w = await usage.window('app', T0);
    expect(w).toEqual({
      calls24h: 3, prev24h: 2, calls7d: 7, prev7d: 2,
      successes24h: 2, fails24h: 1, prevFails24h: 1, successes7d: 5, fails7d: 2,
    });
    // An hour later the oldest bucket of each window slides out.
    const later = await usage.window('app', T0 + HOUR_MS);
    expect(later).toMatchObject({ calls24h: 2, prev24h: 2, calls7d: 6, prev7d: 2 });
  });

  test('windowMany answers many apps, unknown ones with zeros', async () => {
    const { usage } = setup();
    await foldAll(usage, 'a', [call(T0 - 1000), call(T0 - 2000)], T0);
    await foldAll(usage, 'b', [call(T0 - 3 * DAY_MS)], T0);
    const many = await usage.windowMany(['a', 'b', 'nope'], T0);
    expect(many.get('a')).toMatchObject({ calls24h: 2, calls7d: 2 });
    expect(many.get('b')).toMatchObject({ calls24h: 0, calls7d: 1 });
    expect(many.get('nope')).toMatchObject({ calls24h: 0, calls7d: 0, prev7d: 0 });
    const summaries = await usage.summaryMany(['a', 'nope']);
    expect(summaries.get('a')?.ingested).toBe(2);
    expect(summaries.get('nope')).toEqual({ ingested: 0, families: [], read: {} });
  });

  test('failures and successes since a moment, per endpoint', async () => {
    const { usage } = setup();
    const disabledAt = Math.floor(T0 / HOUR_MS) * HOUR_MS - 2 * HOUR_MS + 1;
    const before = disabledAt - HOUR_MS;
    await foldAll(
      usage,
      'app',
      [
        call(before, undefined, 401),
        call(before + 1, undefined, 200),
        call(disabledAt + 60_000, 'https://api.zoom.us/v2/users/a@b.c/meetings', 401),
        call(disabledAt + 120_000, 'https://api.zoom.us/v2/users/d@e.f/meetings', 401),
        call(disabledAt + 180_000, 'https://api.zoom.us/v2/scim2/Users/xyz', 403, 'POST'),
        call(disabledAt + 240_000, undefined, 200),
      ],
      T0,
    );
    const failures = await usage.failuresSince('app', disabledAt, T0);
    expect(failures).toEqual({
      count: 3,
      endpoints: [
        { key: 'GET /users/{userId}/meetings', count: 2 },
        { key: expect.stringMatching(/^POST \/scim2\//), count: 1 },
      ],
      granularity: 'hour',
    });
    expect(await usage.successesSince('app', disabledAt, T0)).toEqual({ count: 1, granularity: 'hour' });
    // Older than the hourly counters: whole UTC days.
    const old = await usage.failuresSince('app', T0 - 20 * DAY_MS, T0);
    expect(old).toMatchObject({ count: 4, granularity: 'day' });
  });
});

describe('the late-arrival lookback', () => {
  test('keeps at most SEEN_CAP ids, and a read that meets every entry again (read whole) counts none twice', async () => {
    const { usage, prefix } = setup();
    const now = Date.UTC(2026, 5, 15, 12);
    // 12,000 calls in the last 3 hours: more ids than the cap inside the 6-hour lookback.
    const entries = Array.from({ length: 12_000 }, (_, i) => call(now - 3 * HOUR_MS + Math.floor((i * 3 * HOUR_MS) / 12_000)));
    await foldAll(usage, 'busy', entries, now);
    expect((await usage.summary('busy')).ingested).toBe(12_000);
    expect(await redis.zcard(`{${prefix}}:seen:busy:top`)).toBe(SEEN_CAP);

    // Zoom lists them all again, out of order: a whole read, every entry deduplicated or below the floor.
    const shuffled = [...entries].reverse();
    const lock = (await usage.acquireReadLock('busy'))!;
    const state = await usage.readState('busy');
    let folded = 0;
    for (let i = 0; i < shuffled.length; i += 100) {
      const r = await usage.foldPage({
        appId: 'busy', entries: shuffled.slice(i, i + 100).map((e) => toFoldEntry(e)!), cutoff: state.watermark! - OVERLAP_MS,
        firstOfAttempt: i === 0, nextPageToken: i + 100 < shuffled.length ? `p${i + 100}` : '', duration: 7, now: now + 60_000, lockToken: lock,
        ordered: false, heldBack: 0, unreadable: 0,
      });
      folded += r.folded;
      expect(r.complete).toBe(i + 100 >= shuffled.length);
    }
    await usage.releaseReadLock('busy', lock);
    expect(folded).toBe(0);
    expect((await usage.summary('busy')).ingested).toBe(12_000);
    expect((await usage.readState('busy')).quality).toMatchObject({ unordered: true, late: 0 });
  });
});

describe('memory', () => {
  test('50k entries over 30 days: keys grow with days, dedupe sets with the overlap window only', async () => {
    const { usage, prefix } = setup();
    let now = T0;
    const zoom = memoryZoom(() => now);
    const total = 50_000;
    const from = T0 - 30 * DAY_MS + HOUR_MS;
    const entries: ZoomCallLog[] = [];
    for (let i = 0; i < total; i++) {
      const time = from + Math.floor(((T0 - from) * i) / (total - 1));
      entries.push(call(time, i % 3 ? 'https://api.zoom.us/v2/users/u@x.com/meetings' : 'https://api.zoom.us/v2/scim2/Users/x1', i % 50 ? 200 : 401));
    }
    zoom.add(entries);
    const started = performance.now();
    const first = await pollApp({ zoom: zoom.api, usage, clock: () => now, log, appId: 'big' });
    const seconds = (performance.now() - started) / 1000;
    expect(first).toMatchObject({ complete: true, ingested: total, pages: total / 100 });
    // Reported by the run; see the final report of this piece.
    process.stdout.write(`ingest (in-memory Zoom): ${Math.round(total / seconds)} entries/s\n`);

    const days = new Set(entries.map((e) => utcDay(Number(e.time)))).size;
    // Day hashes + summary, hours, families, sample, readstate, seen:top (seen:floor and the lock are gone),
    // and the install's one status epoch.
    expect(await countKeys(prefix)).toBe(days + 7);
    const perMinute = total / (30 * 24 * 60);
    // The late-arrival lookback (6 hours) of ids, at most SEEN_CAP.
    const seenTop = await redis.zcard(`{${prefix}}:seen:big:top`);
    expect(seenTop).toBeLessThanOrEqual(Math.min(SEEN_CAP, Math.ceil(perMinute * (LOOKBACK_MS / 60_000)) + 2));
    expect(seenTop).toBeGreaterThanOrEqual(Math.floor(perMinute * (LOOKBACK_MS / 60_000)) - 2);
    const seenBytes = Number(await redis.call('MEMORY', 'USAGE', `{${prefix}}:seen:big:top`));
    process.stdout.write(`late-arrival lookback: ${seenTop} ids, ${seenBytes} bytes of Redis (${Math.round(seenBytes / seenTop)} per id)\n`);
    expect(await redis.exists(`{${prefix}}:seen:big:floor`)).toBe(0);
    // t, s, e and one x field per failing endpoint (2 here) per hour, for at most 361 hours.
    expect(await redis.hlen(`{${prefix}}:hours:big`)).toBeLessThanOrEqual((15 * 24 + 1) * 5);
    expect(await redis.zcard(`{${prefix}}:sample:big`)).toBe(200);

    // A day later, 2 000 more: same bound, exact totals, and a paused read in the middle.
    now += DAY_MS;
    zoom.add(Array.from({ length: 2_000 }, (_, i) => call(T0 + 1 + Math.floor((DAY_MS - 2) * (i / 1999)))));
    zoom.pauseAfter(5);
    const paused = await pollApp({ zoom: zoom.api, usage, clock: () => now, log, appId: 'big', maxPages: 50 });
    expect(paused.error).toBeInstanceOf(ZoomPausedError);
    const floorSize = await redis.zcard(`{${prefix}}:seen:big:floor`);
    expect(floorSize).toBeLessThanOrEqual(Math.ceil((2000 / (24 * 60)) * 10) + 101);
    now += 20 * 60_000;
    const second = await pollApp({ zoom: zoom.api, usage, clock: () => now, log, appId: 'big' });
    expect(second.complete).toBe(true);
    expect((await usage.summary('big')).ingested).toBe(total + 2_000);
    expect(await countKeys(prefix)).toBeLessThanOrEqual(days + 2 + 6);
    expect(await redis.zcard(`{${prefix}}:seen:big:top`)).toBeLessThanOrEqual(Math.ceil((2000 / (24 * 60)) * (LOOKBACK_MS / 60_000)) + 2);
  });
});

describe('the incremental read under random interruptions', () => {
  test('never loses or double counts an entry (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            // New entries: how many, spread over how many minutes back from now (inside the overlap).
            add: fc.integer({ min: 0, max: 400 }),
            spreadMin: fc.integer({ min: 0, max: 9 }),
            // Minutes the clock moves before the poll; > 15 expires a stored page token.
            advanceMin: fc.integer({ min: 0, max: 40 }),
            maxPages: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
            pauseAfter: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        fc.integer({ min: 0, max: 1500 }),
        async (steps, backlog) => {
          const { usage } = setup();
          let now = T0;
          const zoom = memoryZoom(() => now);
          const truth = new Map<string, number>();
          const add = (list: ZoomCallLog[]) => {
            zoom.add(list);
            for (const e of list) {
              const d = utcDay(Number(e.time));
              truth.set(d, (truth.get(d) ?? 0) + 1);
            }
          };
          // A backlog over the last 20 days, whole seconds, so many entries share a timestamp.
          add(Array.from({ length: backlog }, (_, i) => call(Math.floor((T0 - 20 * DAY_MS + (i * 20 * DAY_MS) / Math.max(1, backlog)) / 1000) * 1000)));
          for (const step of steps) {
            now += step.advanceMin * 60_000;
            add(Array.from({ length: step.add }, (_, i) => call(Math.floor((now - (step.spreadMin * 60_000 * i) / Math.max(1, step.add)) / 60_000) * 60_000)));
            if (step.pauseAfter !== undefined) zoom.pauseAfter(step.pauseAfter);
            await pollApp({ zoom: zoom.api, usage, clock: () => now, log, appId: 'p', ...(step.maxPages ? { maxPages: step.maxPages } : {}) });
          }
          zoom.pauseAfter(undefined);
          // Then polls until one completes; entries that arrived while a read was under way are
          // for the next read, so one more read, started after the last addition, must see all.
          for (let i = 0; i < 20; i++) {
            now += 60_000;
            const r = await pollApp({ zoom: zoom.api, usage, clock: () => now, log, appId: 'p' });
            if (r.complete) break;
          }
          now += 60_000;
          expect((await pollApp({ zoom: zoom.api, usage, clock: () => now, log, appId: 'p' })).complete).toBe(true);
          const days = [...truth.keys()].sort();
          const daily = await usage.daily('p', days);
          expect(Object.fromEntries(daily.map((d) => [d.day, d.total]))).toEqual(Object.fromEntries(days.map((d) => [d, truth.get(d)])));
          expect((await usage.summary('p')).ingested).toBe([...truth.values()].reduce((a, b) => a + b, 0));
        },
      ),
      { numRuns: 40 },
    );
  });
});
