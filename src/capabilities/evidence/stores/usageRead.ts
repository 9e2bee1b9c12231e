/**
 * The read model of the usage store: summaries, windows, the daily and endpoint tables, counts
 * since a time, the sample and the reads' health, drawn from what the page script
 * (usageIngest.ts) folded. Nothing here writes.
 */
import type { Redis } from 'ioredis';
import type { Keys } from '../../../platform/redis/keys';
import { DAY_MS, HOUR_MS, HOURS_KEPT, num, SAMPLE_CAP, usageKeys, type ReadQuality, type SampleEntry, type StatusClassName } from './usageKeys';

/** What `status`, `app` and the removal checks know of an app's reads (epoch ms). */
export interface ReadHealth {
  lastComplete?: number;
  lastClean?: number;
  /** When the read still in progress started (a read stopped before the end of the listing). */
  inProgressSince?: number;
  quality?: ReadQuality;
}

export interface UsageSummary {
  lastCall?: number;
  lastSuccess?: number;
  lastFailure?: number;
  firstSeen?: number;
  /** Entries folded, all time. */
  ingested: number;
  families: string[];
  /** When the last complete read of the call logs finished. */
  lastComplete?: number;
  /** Entries counted although Zoom published them late (all time), and when the last was. */
  late?: number;
  lateAt?: number;
  /** The reads' health (absent only in hand-made summaries). */
  read?: ReadHealth;
}

export interface UsageWindow {
  /** Calls in the last 24 hourly buckets (the current hour included). */
  calls24h: number;
  /** The 24 buckets before those. */
  prev24h: number;
  calls7d: number;
  prev7d: number;
  successes24h: number;
  fails24h: number;
  prevFails24h: number;
  successes7d: number;
  fails7d: number;
}

export interface DailyUsage {
  day: string;
  total: number;
  /** 2xx + 3xx. */
  ok: number;
  /** 4xx + 5xx. */
  failed: number;
  byClass: Record<StatusClassName, number>;
}

export interface EndpointUsage {
  key: string;
  method: string;
  template: string;
  count: number;
  errors: number;
  first: number;
  last: number;
}

export interface SinceCount {
  count: number;
  /** Per endpoint key, most first. */
  endpoints: Array<{ key: string; count: number }>;
  /**
   * 'hour' when counted from the start of the hour holding `sinceMs` (within the 15 days of
   * hourly counters); 'day' when counted from the start of its UTC day (older).
   */
  granularity: 'hour' | 'day';
}

export interface UsageReads {
  summary(appId: string): Promise<UsageSummary>;
  summaryMany(appIds: string[]): Promise<Map<string, UsageSummary>>;
  window(appId: string, nowMs: number): Promise<UsageWindow>;
  /** One pipeline for all apps (`/zoomjwt status`). */
  windowMany(appIds: string[], nowMs: number): Promise<Map<string, UsageWindow>>;
  daily(appId: string, days: string[]): Promise<DailyUsage[]>;
  /** Sorted by count, most first. */
  endpoints(appId: string, days: string[]): Promise<EndpointUsage[]>;
  topEndpoints(appId: string, days: string[], n: number): Promise<EndpointUsage[]>;
  /** Newest first. */
  sample(appId: string, n: number): Promise<SampleEntry[]>;
  /**
   * Failed calls (4xx/5xx) since `sinceMs`, counted from the start of its hour (or its UTC day
   * when older than the hourly counters). For an exact "any since" test use `summary().lastFailure`.
   */
  failuresSince(appId: string, sinceMs: number, nowMs: number): Promise<SinceCount>;
  /** Successful calls (2xx/3xx) since `sinceMs`; same granularity as `failuresSince`. */
  successesSince(appId: string, sinceMs: number, nowMs: number): Promise<{ count: number; granularity: 'hour' | 'day' }>;
}

/*
 * Usage windows from the hourly counters, computed in Redis so `/zoomjwt status` for hundreds of
 * apps moves a dozen numbers per app instead of every counter.
 * KEYS: 1 hours. ARGV: 1 current hour index.
 * Returns {calls24h, prev24h, calls7d, prev7d, successes24h, fails24h, prevFails24h, successes7d, fails7d}.
 */
const WINDOW = `
local h = redis.call('HGETALL', KEYS[1])
local nowH = tonumber(ARGV[1])
local r = {0, 0, 0, 0, 0, 0, 0, 0, 0}
for i = 1, #h, 2 do
  local f = h[i]
  local kind = string.sub(f, 1, 1)
  if kind ~= 'x' then
    local age = nowH - tonumber(string.sub(f, 3))
    local v = tonumber(h[i + 1])
    if kind == 't' then
      if age < 24 then r[1] = r[1] + v elseif age < 48 then r[2] = r[2] + v end
      if age < 168 then r[3] = r[3] + v elseif age < 336 then r[4] = r[4] + v end
    elseif kind == 's' then
      if age < 24 then r[5] = r[5] + v end
      if age < 168 then r[8] = r[8] + v end
    elseif kind == 'e' then
      if age < 24 then r[6] = r[6] + v elseif age < 48 then r[7] = r[7] + v end
      if age < 168 then r[9] = r[9] + v end
    end
  end
end
return r
`;

/*
 * Counts since an hour from the hourly counters.
 * KEYS: 1 hours. ARGV: 1 first hour counted, 2 'e' (failures, with per-endpoint counts) or 's'.
 * Returns {count, key1, count1, key2, count2, …}.
 */
const SINCE = `
local h = redis.call('HGETALL', KEYS[1])
local from, kind = tonumber(ARGV[1]), ARGV[2]
local count = 0
local per = {}
for i = 1, #h, 2 do
  local f = h[i]
  local k = string.sub(f, 1, 1)
  if k == kind then
    if tonumber(string.sub(f, 3)) >= from then count = count + tonumber(h[i + 1]) end
  elseif k == 'x' and kind == 'e' then
    local c = string.find(f, ':', 3, true)
    if c and tonumber(string.sub(f, 3, c - 1)) >= from then
      local key = string.sub(f, c + 1)
      per[key] = (per[key] or 0) + tonumber(h[i + 1])
    end
  end
end
local out = {count}
for key, v in pairs(per) do out[#out + 1] = key; out[#out + 1] = v end
return out
`;

interface ReadScriptedRedis extends Redis {
  zjtUsageWindow(key: string, nowHour: number): Promise<number[]>;
  zjtUsageSince(key: string, fromHour: number, kind: 'e' | 's'): Promise<Array<number | string>>;
}

/** defineCommand is per connection; define once and reuse (EVALSHA with EVAL fallback). */
function withReadScripts(redis: Redis): ReadScriptedRedis {
  const r = redis as ReadScriptedRedis;
  if (typeof r.zjtUsageWindow !== 'function') {
    redis.defineCommand('zjtUsageWindow', { lua: WINDOW, numberOfKeys: 1 });
    redis.defineCommand('zjtUsageSince', { lua: SINCE, numberOfKeys: 1 });
  }
  return r;
}

const CLASSES: StatusClassName[] = ['2xx', '3xx', '4xx', '5xx', 'other'];

function emptyWindow(): UsageWindow {
  return { calls24h: 0, prev24h: 0, calls7d: 0, prev7d: 0, successes24h: 0, fails24h: 0, prevFails24h: 0, successes7d: 0, fails7d: 0 };
}

function toWindow(r: unknown): UsageWindow {
  const a = Array.isArray(r) ? r.map(Number) : [];
  const at = (i: number) => a[i] ?? 0;
  return {
    calls24h: at(0), prev24h: at(1), calls7d: at(2), prev7d: at(3),
    successes24h: at(4), fails24h: at(5), prevFails24h: at(6), successes7d: at(7), fails7d: at(8),
  };
}

function splitKey(key: string): { method: string; template: string } {
  const sp = key.indexOf(' ');
  return sp < 0 ? { method: 'UNKNOWN', template: key } : { method: key.slice(0, sp), template: key.slice(sp + 1) };
}

function utcDayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function daysBetween(fromMs: number, toMs: number): string[] {
  const out: string[] = [];
  const last = Math.floor(toMs / DAY_MS);
  for (let d = Math.floor(fromMs / DAY_MS); d <= last; d++) out.push(utcDayOf(d * DAY_MS));
  return out;
}

export function createUsageReads(deps: { redis: Redis; keys: Keys }): UsageReads {
  const redis = withReadScripts(deps.redis);
  const k = usageKeys(deps.keys);

  const READ_FIELDS = ['lastComplete', 'lastClean', 'startedAt', 'cutoff', 'qdis', 'qheld', 'qbad', 'qlate'] as const;
  const parseRead = (v: Array<string | null>): ReadHealth => {
    const [lastComplete, lastClean, startedAt, cutoff, qdis, qheld, qbad, qlate] = v.map((x) => x ?? undefined);
    const r: ReadHealth = {};
    const lc = num(lastComplete);
    if (lc !== undefined) {
      r.lastComplete = lc;
      r.quality = { unordered: qdis === '1', heldBack: num(qheld) ?? 0, unreadable: num(qbad) ?? 0, late: num(qlate) ?? 0 };
    }
    const clean = num(lastClean);
    if (clean !== undefined) r.lastClean = clean;
    if (num(cutoff) !== undefined) r.inProgressSince = num(startedAt) ?? 0;
    return r;
  };

  const parseSummary = (h: Record<string, string>, families: string[], rs: Record<string, string>): UsageSummary => {
    const s: UsageSummary = { ingested: num(h.ingested) ?? 0, families: [...families].sort() };
    const set = (name: 'lastCall' | 'lastSuccess' | 'lastFailure' | 'firstSeen' | 'lateAt' | 'late', v: string | undefined) => {
      const n = num(v);
      if (n !== undefined) s[name] = n;
    };
    set('lastCall', h.lastCall);
    set('lastSuccess', h.lastSuccess);
    set('lastFailure', h.lastFailure);
    set('firstSeen', h.firstSeen);
    set('lateAt', h.lateAt);
    set('late', h.late);
    const lc = num(rs.lastComplete);
    if (lc !== undefined) s.lastComplete = lc;
    return s;
  };

  async function summaryMany(appIds: string[]): Promise<Map<string, UsageSummary>> {
    const out = new Map<string, UsageSummary>();
    if (appIds.length === 0) return out;
    const pipe = redis.pipeline();
    for (const id of appIds) pipe.hgetall(k.summary(id)).smembers(k.families(id)).hmget(k.readstate(id), ...READ_FIELDS);
    const rows = (await pipe.exec()) ?? [];
    appIds.forEach((id, i) => {
      const [e1, h] = rows[i * 3] ?? [];
      const [e2, fams] = rows[i * 3 + 1] ?? [];
      const [e3, rs] = rows[i * 3 + 2] ?? [];
      const err = e1 ?? e2 ?? e3;
      if (err) throw err;
      const read = parseRead((rs ?? []) as Array<string | null>);
      const lc = read.lastComplete;
      const summary = parseSummary((h ?? {}) as Record<string, string>, (fams ?? []) as string[], lc !== undefined ? { lastComplete: String(lc) } : {});
      out.set(id, { ...summary, read });
    });
    return out;
  }

  /*
   * Windows and endpoint tables derive from counters that only the page script changes, and it
   * bumps the summary's `ingested` in the same atomic step. So they are memoised per process under
   * that stamp, read before the data: a fold landing in between makes a memo newer than its stamp,
   * never older, and the next read sees a new stamp and recomputes. Between polls `/zoomjwt
   * status` then costs one small pipeline instead of a script over every hourly counter of every
   * app (the bench's status profile: Redis-bound). Day hashes also expire, 400 days after their
   * day, far outside the 7- and 30-day tables read here. At most one memo per app and table size.
   */
  const windowMemo = new Map<string, { stamp: string; hour: number; window: UsageWindow }>();
  const endpointMemo = new Map<string, { stamp: string; days: string; rows: EndpointUsage[] }>();

  async function stamps(appIds: string[]): Promise<Array<string | null>> {
    const pipe = redis.pipeline();
    for (const id of appIds) pipe.hget(k.summary(id), 'ingested');
    const rows = (await pipe.exec()) ?? [];
    return appIds.map((_, i) => {
      const [err, v] = rows[i] ?? [null, null];
      if (err) throw err;
      return typeof v === 'string' ? v : null;
    });
  }

  async function windowMany(appIds: string[], nowMs: number): Promise<Map<string, UsageWindow>> {
    const out = new Map<string, UsageWindow>();
    if (appIds.length === 0) return out;
    const nowHour = Math.floor(nowMs / HOUR_MS);
    const current = await stamps(appIds);
    const found: Array<UsageWindow | undefined> = appIds.map((id, i) => {
      const memo = windowMemo.get(id);
      return memo && current[i] !== null && memo.stamp === current[i] && memo.hour === nowHour ? { ...memo.window } : undefined;
    });
    const misses = appIds.map((_, i) => i).filter((i) => found[i] === undefined);
    if (misses.length) {
      const pipe = redis.pipeline() as unknown as { zjtUsageWindow(key: string, h: number): unknown; exec(): Promise<Array<[Error | null, unknown]> | null> };
      for (const i of misses) pipe.zjtUsageWindow(k.hours(appIds[i]!), nowHour);
      const rows = (await pipe.exec()) ?? [];
      misses.forEach((i, j) => {
        const [err, r] = rows[j] ?? [null, null];
        if (err) throw err;
        const window = r ? toWindow(r) : emptyWindow();
        found[i] = window;
        const stamp = current[i];
        if (stamp !== null && stamp !== undefined) windowMemo.set(appIds[i]!, { stamp, hour: nowHour, window: { ...window } });
      });
    }
    appIds.forEach((id, i) => out.set(id, found[i] ?? emptyWindow()));
    return out;
  }

  async function endpoints(appId: string, days: string[]): Promise<EndpointUsage[]> {
    if (days.length === 0) return [];
    const memoKey = `${appId}|${days.length}`;
    const daysKey = days.join(',');
    const [stamp] = await stamps([appId]);
    const memo = endpointMemo.get(memoKey);
    if (memo && stamp !== null && stamp !== undefined && memo.stamp === stamp && memo.days === daysKey) return memo.rows.map((r) => ({ ...r }));
    const rows = await readEndpoints(appId, days);
    if (stamp !== null && stamp !== undefined) endpointMemo.set(memoKey, { stamp, days: daysKey, rows: rows.map((r) => ({ ...r })) });
    return rows;
  }

  async function readEndpoints(appId: string, days: string[]): Promise<EndpointUsage[]> {
    const pipe = redis.pipeline();
    for (const d of days) pipe.hgetall(k.day(appId, d));
    const rows = (await pipe.exec()) ?? [];
    const acc = new Map<string, EndpointUsage>();
    const row = (key: string): EndpointUsage => {
      let r = acc.get(key);
      if (!r) {
        r = { key, ...splitKey(key), count: 0, errors: 0, first: Number.POSITIVE_INFINITY, last: 0 };
        acc.set(key, r);
      }
      return r;
    };
    for (const [err, h] of rows) {
      if (err) throw err;
      for (const [f, v] of Object.entries((h ?? {}) as Record<string, string>)) {
        const kind = f.slice(0, 2);
        const n = Number(v);
        if (kind === 'e:') row(f.slice(2)).count += n;
        else if (kind === 'x:') row(f.slice(2)).errors += n;
        else if (kind === 'f:') { const r = row(f.slice(2)); r.first = Math.min(r.first, n); }
        else if (kind === 'l:') { const r = row(f.slice(2)); r.last = Math.max(r.last, n); }
      }
    }
    return [...acc.values()]
      .filter((r) => r.count > 0)
      .sort((a, b) => b.count - a.count || b.last - a.last || a.key.localeCompare(b.key));
  }

  async function countSince(appId: string, sinceMs: number, nowMs: number, kind: 'e' | 's'): Promise<SinceCount> {
    const fromHour = Math.floor(sinceMs / HOUR_MS);
    const oldestHour = Math.floor(nowMs / HOUR_MS) - HOURS_KEPT + 1;
    if (fromHour >= oldestHour) {
      const r = await redis.zjtUsageSince(k.hours(appId), fromHour, kind);
      const list: Array<{ key: string; count: number }> = [];
      for (let i = 1; i + 1 < r.length; i += 2) list.push({ key: String(r[i]), count: Number(r[i + 1]) });
      list.sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
      return { count: Number(r[0] ?? 0), endpoints: list, granularity: 'hour' };
    }
    // Older than the hourly counters: whole UTC days from the day holding sinceMs.
    const days = daysBetween(sinceMs, nowMs);
    const pipe = redis.pipeline();
    for (const d of days) pipe.hgetall(k.day(appId, d));
    const rows = (await pipe.exec()) ?? [];
    let count = 0;
    const per = new Map<string, number>();
    const classes = kind === 'e' ? ['c:4xx', 'c:5xx'] : ['c:2xx', 'c:3xx'];
    for (const [err, h] of rows) {
      if (err) throw err;
      const hash = (h ?? {}) as Record<string, string>;
      for (const c of classes) count += Number(hash[c] ?? 0);
      if (kind === 'e') {
        for (const [f, v] of Object.entries(hash)) {
          if (f.startsWith('x:')) per.set(f.slice(2), (per.get(f.slice(2)) ?? 0) + Number(v));
        }
      }
    }
    const list = [...per.entries()].map(([key, c]) => ({ key, count: c })).sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
    return { count, endpoints: list, granularity: 'day' };
  }

  return {
    async summary(appId) {
      return (await summaryMany([appId])).get(appId) ?? { ingested: 0, families: [] };
    },
    summaryMany,
    async window(appId, nowMs) {
      return (await windowMany([appId], nowMs)).get(appId) ?? emptyWindow();
    },
    windowMany,
    async daily(appId, days) {
      if (days.length === 0) return [];
      const pipe = redis.pipeline();
      for (const d of days) pipe.hmget(k.day(appId, d), 'n', ...CLASSES.map((c) => `c:${c}`));
      const rows = (await pipe.exec()) ?? [];
      return days.map((day, i) => {
        const [err, r] = rows[i] ?? [null, null];
        if (err) throw err;
        const v = ((r ?? []) as Array<string | null>).map((x) => num(x) ?? 0);
        const byClass = Object.fromEntries(CLASSES.map((c, j) => [c, v[j + 1] ?? 0])) as Record<StatusClassName, number>;
        return { day, total: v[0] ?? 0, ok: byClass['2xx'] + byClass['3xx'], failed: byClass['4xx'] + byClass['5xx'], byClass };
      });
    },
    endpoints,
    async topEndpoints(appId, days, n) {
      return (await endpoints(appId, days)).slice(0, Math.max(0, n));
    },
    async sample(appId, n) {
      if (n <= 0) return [];
      const raw = await redis.zrevrange(k.sample(appId), 0, Math.min(n, SAMPLE_CAP) - 1);
      return raw.flatMap((s) => {
        try {
          return [JSON.parse(s) as SampleEntry];
        } catch {
          return [];
        }
      });
    },
    failuresSince: (appId, sinceMs, nowMs) => countSince(appId, sinceMs, nowMs, 'e'),
    async successesSince(appId, sinceMs, nowMs) {
      const r = await countSince(appId, sinceMs, nowMs, 's');
      return { count: r.count, granularity: r.granularity };
    },
  };
}
