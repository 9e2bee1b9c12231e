/**
 * The ingest write model of the usage store: the per-app read lock of a poll, and the folding of
 * call-log pages together with the read state they advance (SPEC §4.3).
 *
 * Every page of call logs is folded by one Lua script that also advances the read state, so a
 * crash leaves either the page folded together with its state, or nothing.
 */
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { Keys } from '../../../platform/redis/keys';
import { RELEASE_IF_HELD } from '../../../platform/redis/lease';
import { statusEpochKey } from '../../../platform/redis/statusEpoch';
import { DAY_MS, HOUR_MS, HOURS_KEPT, num, SAMPLE_CAP, usageKeys, type ReadQuality, type SampleEntry, type StatusClassName } from './usageKeys';

/**
 * A newest-first read stops once a page reaches this far below the last read's newest entry (ms):
 * the pages it reads anyway. Kept at 10 minutes so the ordered read costs no extra request.
 */
export const OVERLAP_MS = 10 * 60_000;
/**
 * Late arrivals: an entry Zoom publishes after a read passed its time is still counted when a
 * later read sees it (on the pages it reads anyway, or in a whole-window read) and its time is
 * within this lookback of the newest entry seen (ms). Costs one seen:top member per entry in the
 * lookback (about 100 bytes of Redis with a 45-character trace id), bounded by SEEN_CAP.
 */
export const LOOKBACK_MS = 6 * 3_600_000;
/** At most this many ids are kept for the lookback (about 1.25 MB per app at 125 bytes each). */
export const SEEN_CAP = 10_000;
/**
 * A read keeps the id of everything its first pages fold until this many pages came newest first
 * (about 1,000 ids, transient): a listing found out of order later can then still be read whole
 * and restarted without counting those pages twice.
 */
export const TRUST_PAGES = 10;
/** Day hashes expire this many days after the end of their day. */
export const USAGE_RETENTION_DAYS = 400;

/** One call-log entry normalised in Node before it reaches the page script. */
export interface FoldEntry {
  traceId: string;
  /** Epoch ms. */
  time: number;
  /** UTC day `YYYY-MM-DD` of `time`. */
  day: string;
  /** `Math.floor(time / HOUR_MS)`. */
  hour: number;
  statusClass: StatusClassName;
  /** `METHOD /template`. */
  endpointKey: string;
  family: string;
  /** What the sample keeps of the raw entry. */
  sample: SampleEntry;
}

/** The persisted read state of one app (all times epoch ms). */
export interface ReadState {
  /** Newest entry time of the last complete read. */
  watermark?: number;
  /** When the last complete read finished (clock time). */
  lastComplete?: number;
  /** The last complete read's quality (absent before the first one). */
  quality?: ReadQuality;
  /** When the last complete read with nothing degraded finished. */
  lastClean?: number;
  /** The app's listing was out of order in its last complete read: the next read reads whole. */
  readWhole?: boolean;
  /** Where the last read stopped, when it has not completed (the next poll resumes it). */
  inProgress?: {
    /** Entries older than this were counted by earlier reads. */
    cutoff: number;
    startedAt: number;
    /** Top of the contiguous zone already folded by this read (unset before the first page). */
    segTop?: number;
    /** Oldest entry time folded by this read. */
    floor?: number;
    /** Newest entry time seen by this read. */
    top?: number;
    token?: string;
    tokenAt?: number;
    duration?: number;
    /** Oldest entry time of the last page folded (the order check of the next page). */
    lastPageMin?: number;
    /** This read is reading the window whole (the listing was not newest first). */
    unordered: boolean;
  };
}

export interface FoldPageInput {
  appId: string;
  entries: FoldEntry[];
  /** Cutoff for a new read (ignored when a read is already in progress: its own cutoff holds). */
  cutoff: number;
  /** First page of an attempt (a new read, or a restart from the newest page). */
  firstOfAttempt: boolean;
  /** Zoom's next_page_token; '' when there is none (the read completes). */
  nextPageToken: string;
  duration: number;
  now: number;
  lockToken: string;
  /** The page is newest first, within itself and after the previous page of the attempt. */
  ordered: boolean;
  /** Entries of the page held back (dated in the future) and dropped (unreadable). */
  heldBack: number;
  unreadable: number;
  /**
   * Entries older than this (epoch ms) are sent without their sample: the caller has seen at
   * least SAMPLE_CAP distinct newer entries, all already in the sample (or pushed out of it by
   * newer ones), so adding them would be trimmed away at once. Optional; default: send all.
   */
  sampleFloor?: number;
}

export interface FoldPageResult {
  folded: number;
  skipped: number;
  complete: boolean;
  /** Entries folded that Zoom published after an earlier read had passed their time. */
  late: number;
  /** The read is now reading the window whole (this page or an earlier one was out of order). */
  unordered: boolean;
  /** Endpoint families this app had never used before. */
  newFamilies: string[];
}

/** The ingest side, used by the poll job. */
export interface UsageIngest {
  readState(appId: string): Promise<ReadState>;
  /** Takes the per-app read lock; returns its token, or null when another poll holds it. */
  acquireReadLock(appId: string, ttlMs?: number): Promise<string | null>;
  releaseReadLock(appId: string, token: string): Promise<void>;
  /** Folds one page atomically with the read state. Throws ReadLockLostError if the lock is gone. */
  foldPage(input: FoldPageInput): Promise<FoldPageResult>;
}

export class ReadLockLostError extends Error {
  readonly code = 'read_lock_lost';
  constructor(readonly appId: string) {
    super(`read lock for app ${appId} was lost (another poll took over)`);
    this.name = 'ReadLockLostError';
  }
}

/** How long a poll may hold an app's read lock without folding a page (ms). */
export const READ_LOCK_TTL_MS = 5 * 60_000;

/*
 * The page script. A read is in one of two modes. Newest first (every page so far in order,
 * checked by the caller): the zone rules below, and the read may end once a page reaches below the
 * cutoff. Whole (a page was out of order, or the app's last read found its listing so): no zone;
 * every folded id stays in seen:top until the read completes, and only the last page token ends
 * it. In both modes an entry counts when it is at or above the count floor (the last read's
 * lookback floor, ≤ C) and its id is in neither seen set: one below C is a late arrival.
 *
 * Invariants of an in-progress newest-first read (cutoff C, zone [floor, segTop]):
 *  - every entry with time in [floor, segTop] that Zoom listed when the read passed it is folded;
 *  - until TRUST_PAGES pages came in order, seen:top holds every id the read folded and restarts
 *    deduplicate by id alone (two pages in order can still have skipped a stretch);
 *  - after that, seen:top holds the trace ids of folded entries with time ≥ segTop − lookback (and,
 *    from the last complete read, those ≥ C), seen:floor those with time ≤ floor + overlap;
 *  - hence on a restart from the newest page, [floor + overlap, segTop − overlap] is skipped
 *    outright and its edges are deduplicated by trace id. Entries above segTop folded by an
 *    attempt that was interrupted before reaching segTop are ≥ segTop − overlap, so they are in
 *    seen:top too. Once an attempt reads down to segTop − overlap, the zones join and segTop
 *    moves up to the attempt's top, and seen:top members inside the new skip zone are dropped.
 *  - the skip zone holds only entries a read saw: an entry is assumed to be listed by Zoom
 *    within the overlap (10 minutes) of its time, and ties at a page's oldest time are never
 *    inside it (its lower bound is floor + overlap).
 * On completion: watermark = newest time seen (held-back future entries never reach the script),
 * seen:top keeps ≥ watermark − lookback (at most SEEN_CAP ids, never one ≥ watermark − overlap;
 * the count floor rises above what was dropped), seen:floor is deleted, hourly counters older than
 * 15 days are trimmed, and the read's quality (out of order, held back, unreadable, late) is kept
 * for `status`, `app` and the removal checks.
 *
 * KEYS: 1 readstate, 2 seen:top, 3 seen:floor, 4 hours, 5 summary, 6 families, 7 sample,
 *       8 lock, 9 status epoch, 10.. day hashes.
 * ARGV: 1 cutoff (new read), 2 firstOfAttempt 0|1, 3 next token, 4 now, 5 duration, 6 lock token,
 *       7 overlap ms, 8 oldest hour kept, 9 sample cap, 10 retention ms after day end,
 *       11 entry count n, 12 JSON [[endpoint key, family], …], 13 JSON of one row per entry:
 *       [trace, time, day key index (1-based among the day keys), hour, status class, endpoint
 *       index (1-based in 12), sample json ('' when the entry cannot be among the sample's
 *       newest)], 14 lock ttl, 15 lookback ms, 16 page in newest-first order 0|1 (within itself
 *       and after the previous page of the attempt), 17 entries held back (future), 18 entries
 *       unreadable, 19 most trace ids kept in seen:top after a read, 20 pages in order after
 *       which a read drops the ids inside its zone (TRUST_PAGES). One JSON string instead of
 *       hundreds of arguments: encoding and parsing the arguments was most of the ingest's cost.
 * Returns {folded, skipped, complete 0|1, late, unordered 0|1, newFamily...} or {-1} when the
 * lock is not ours.
 */
const FOLD_PAGE = `
local rs, seenTop, seenFloor, hours, summary, families, sample, lock =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
if redis.call('GET', lock) ~= ARGV[6] then return {-1} end
local now, ov, minHour, cap = tonumber(ARGV[4]), tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local keep = tonumber(ARGV[10])
local lb, seenCap = tonumber(ARGV[15]), tonumber(ARGV[19])
local DAY = 86400000
local function fmt(x) return string.format('%.0f', x) end

local st = redis.call('HMGET', rs, 'cutoff', 'segTop', 'floor', 'top', 'atop', 'watermark', 'ccut', 'unord', 'whole', 'dfloor', 'opg')
local cutoff, segTop, floor, top, atop, wm, ccut =
  tonumber(st[1]), tonumber(st[2]), tonumber(st[3]), tonumber(st[4]), tonumber(st[5]), tonumber(st[6]), tonumber(st[7])
local unord = st[8] == '1'
-- The first pages of a read keep every id they fold: if a later page shows the listing out of
-- order, a restart of the read can still tell what those pages folded. After TRUST pages in
-- order, the interior of the folded zone is dropped as before (ARGV 20).
local trusted = (tonumber(st[11]) or 0) >= tonumber(ARGV[20])
if cutoff == nil then
  trusted = false
  cutoff = tonumber(ARGV[1])
  segTop, floor, top, atop = nil, nil, nil, nil
  -- Entries from the lookback below the cutoff are still deduplicated by seen:top: count them.
  ccut = tonumber(st[10])
  if ccut == nil or ccut > cutoff then ccut = cutoff end
  -- An app whose listing was once out of order is read whole until a read finds it in order.
  unord = st[9] == '1'
  redis.call('HSET', rs, 'cutoff', ARGV[1], 'startedAt', ARGV[4], 'ccut', fmt(ccut), 'unord', unord and '1' or '0')
end
if ccut == nil then ccut = cutoff end
if ARGV[17] ~= '0' then redis.call('HINCRBY', rs, 'rheld', tonumber(ARGV[17])) end
if ARGV[18] ~= '0' then redis.call('HINCRBY', rs, 'rbad', tonumber(ARGV[18])) end
if ARGV[16] ~= '1' then
  -- Out of order: the zone rules below assume newest first, so from here on this read keeps the
  -- trace id of everything it folds and reads the window whole.
  if not unord then redis.call('HDEL', rs, 'segTop', 'floor', 'atop') end
  unord = true
  segTop, floor, atop = nil, nil, nil
  redis.call('HSET', rs, 'unord', '1', 'dis', '1')
end

local n = tonumber(ARGV[11])
local EP = n > 0 and cjson.decode(ARGV[12]) or {}
local rows = n > 0 and cjson.decode(ARGV[13]) or {}
local E = {}
local pmax, pmin
for i = 1, n do
  local r = rows[i]
  local t = r[2]
  local ep = EP[r[6]]
  E[#E + 1] = {r[1], t, r[3], r[4], r[5], ep[1], ep[2], r[7]}
  if pmax == nil or t > pmax then pmax = t end
  if pmin == nil or t < pmin then pmin = t end
end

if ARGV[2] == '1' or atop == nil then
  atop = pmax
  if segTop ~= nil and (atop == nil or atop < segTop) then atop = segTop end
end

-- Zone already folded, from the state before this page.
local skipLo, skipHi
-- Before TRUST pages came in order, every folded id is in seen:top: deduplicate by id instead (two
-- pages in order may still have skipped a stretch that a later page lists).
if not unord and trusted and segTop ~= nil and floor ~= nil then skipLo, skipHi = floor + ov, segTop - ov end
local topEdge = segTop or atop

-- After this page: the zone grows when it is contiguous with what this attempt read. This
-- attempt has seen every entry newer than pmin, but entries tied at pmin may spill onto the next
-- page, so it joins the old zone only once pmin is inside the old skip zone (≤ segTop − overlap).
local newSegTop, newFloor = segTop, floor
if not unord and n > 0 and (segTop == nil or pmin <= segTop - ov) then
  if newSegTop == nil or atop > newSegTop then newSegTop = atop end
  if newFloor == nil or pmin < newFloor then newFloor = pmin end
end
local newTop = top
if pmax ~= nil and (newTop == nil or pmax > newTop) then newTop = pmax end

local folded, skipped, late = 0, 0, 0
local pageSeen = {}
local days = {}
local hourInc = {}
local hourFields = {}
local fams = {}
local topAdd, floorAdd, sampleAdd = {}, {}, {}
local sLast, sOk, sFail, sFirst
for _, e in ipairs(E) do
  local trace, t = e[1], e[2]
  local skip = false
  if t < ccut then skip = true
  elseif skipLo ~= nil and t >= skipLo and t <= skipHi then skip = true
  elseif pageSeen[trace] then skip = true
  elseif redis.call('ZSCORE', seenTop, trace) or redis.call('ZSCORE', seenFloor, trace) then skip = true
  end
  pageSeen[trace] = true
  if skip then
    skipped = skipped + 1
  else
    folded = folded + 1
    -- Not listed when the last complete read passed its time: Zoom published it late.
    if wm ~= nil and t <= wm then late = late + 1 end
    local di, h, cls, key = e[3], e[4], e[5], e[6]
    local d = days[di]
    if d == nil then
      d = {n = 0, c = {}, e = {}, x = {}, f = {}, l = {}, t = t}
      days[di] = d
    end
    d.n = d.n + 1
    d.c[cls] = (d.c[cls] or 0) + 1
    d.e[key] = (d.e[key] or 0) + 1
    local failed = (cls == '4xx' or cls == '5xx')
    local ok = (cls == '2xx' or cls == '3xx')
    if failed then d.x[key] = (d.x[key] or 0) + 1 end
    if d.f[key] == nil or t < d.f[key] then d.f[key] = t end
    if d.l[key] == nil or t > d.l[key] then d.l[key] = t end
    if h >= minHour then
      -- Field names once per hour of the page, not once per entry.
      local hf = hourFields[h]
      if hf == nil then
        local hs = fmt(h)
        hf = {t = 't:' .. hs, s = 's:' .. hs, e = 'e:' .. hs, x = 'x:' .. hs .. ':'}
        hourFields[h] = hf
      end
      hourInc[hf.t] = (hourInc[hf.t] or 0) + 1
      if ok then hourInc[hf.s] = (hourInc[hf.s] or 0) + 1 end
      if failed then
        hourInc[hf.e] = (hourInc[hf.e] or 0) + 1
        local xf = hf.x .. key
        hourInc[xf] = (hourInc[xf] or 0) + 1
      end
    end
    if sLast == nil or t > sLast then sLast = t end
    if sFirst == nil or t < sFirst then sFirst = t end
    if ok and (sOk == nil or t > sOk) then sOk = t end
    if failed and (sFail == nil or t > sFail) then sFail = t end
    fams[e[7]] = true
    if unord or not trusted or t >= topEdge - lb then topAdd[#topAdd + 1] = fmt(t); topAdd[#topAdd + 1] = trace end
    if newFloor ~= nil and t <= newFloor + ov then floorAdd[#floorAdd + 1] = fmt(t); floorAdd[#floorAdd + 1] = trace end
    if e[8] ~= '' then
      sampleAdd[#sampleAdd + 1] = fmt(t)
      sampleAdd[#sampleAdd + 1] = e[8]
    end
  end
end

-- Aggregates: one write per distinct field.
for di, d in pairs(days) do
  local dk = KEYS[9 + di]
  redis.call('HINCRBY', dk, 'n', d.n)
  for cls, v in pairs(d.c) do redis.call('HINCRBY', dk, 'c:' .. cls, v) end
  for key, v in pairs(d.e) do redis.call('HINCRBY', dk, 'e:' .. key, v) end
  for key, v in pairs(d.x) do redis.call('HINCRBY', dk, 'x:' .. key, v) end
  local fields, vals = {}, {}
  for key, v in pairs(d.f) do fields[#fields + 1] = 'f:' .. key; vals[#vals + 1] = v end
  for key, v in pairs(d.l) do fields[#fields + 1] = 'l:' .. key; vals[#vals + 1] = v end
  local cur = redis.call('HMGET', dk, unpack(fields))
  local set = {}
  for i, f in ipairs(fields) do
    local old = tonumber(cur[i])
    local isFirst = string.sub(f, 1, 1) == 'f'
    if old == nil or (isFirst and vals[i] < old) or ((not isFirst) and vals[i] > old) then
      set[#set + 1] = f; set[#set + 1] = fmt(vals[i])
    end
  end
  if #set > 0 then redis.call('HSET', dk, unpack(set)) end
  redis.call('PEXPIREAT', dk, fmt(math.floor(d.t / DAY) * DAY + DAY + keep))
end
for f, v in pairs(hourInc) do redis.call('HINCRBY', hours, f, v) end

local newFamilies = {}
if folded > 0 then
  local cur = redis.call('HMGET', summary, 'lastCall', 'lastSuccess', 'lastFailure', 'firstSeen')
  local set = {}
  local function later(f, old, v) if v ~= nil and (tonumber(old) == nil or v > tonumber(old)) then set[#set + 1] = f; set[#set + 1] = fmt(v) end end
  later('lastCall', cur[1], sLast)
  later('lastSuccess', cur[2], sOk)
  later('lastFailure', cur[3], sFail)
  if tonumber(cur[4]) == nil or sFirst < tonumber(cur[4]) then set[#set + 1] = 'firstSeen'; set[#set + 1] = fmt(sFirst) end
  if #set > 0 then redis.call('HSET', summary, unpack(set)) end
  redis.call('HINCRBY', summary, 'ingested', folded)
  if late > 0 then
    redis.call('HINCRBY', summary, 'late', late)
    redis.call('HSET', summary, 'lateAt', ARGV[4])
    redis.call('HINCRBY', rs, 'rlate', late)
  end
  for fam, _ in pairs(fams) do
    if redis.call('SADD', families, fam) == 1 then newFamilies[#newFamilies + 1] = fam end
  end
  if #sampleAdd > 0 then
    redis.call('ZADD', sample, unpack(sampleAdd))
    redis.call('ZREMRANGEBYRANK', sample, 0, -(cap + 1))
  end
end
if #topAdd > 0 then redis.call('ZADD', seenTop, unpack(topAdd)) end
if #floorAdd > 0 then redis.call('ZADD', seenFloor, unpack(floorAdd)) end

-- Complete only at the end of the listing, or (newest first, as checked on every page) once a
-- page reaches below the cutoff. A page without entries keeps the state and follows its token.
local complete = (ARGV[3] == '') or ((not unord) and n > 0 and pmin < cutoff)
if complete then
  local w = wm
  if newTop ~= nil and (w == nil or newTop > w) then w = newTop end
  if w ~= nil then
    redis.call('HSET', rs, 'watermark', fmt(w))
    redis.call('ZREMRANGEBYSCORE', seenTop, '-inf', '(' .. fmt(w - lb))
    -- At most seenCap ids, but never one the next read's overlap needs (>= w - overlap); the
    -- next read counts only from above what was dropped.
    local dfloor = w - lb
    local extra = redis.call('ZCARD', seenTop) - math.max(seenCap, redis.call('ZCOUNT', seenTop, fmt(w - ov), '+inf'))
    if extra > 0 then
      local last = redis.call('ZRANGE', seenTop, extra - 1, extra - 1, 'WITHSCORES')
      redis.call('ZREMRANGEBYRANK', seenTop, 0, extra - 1)
      if last[2] ~= nil and tonumber(last[2]) + 1 > dfloor then dfloor = tonumber(last[2]) + 1 end
    end
    redis.call('HSET', rs, 'dfloor', fmt(dfloor))
  end
  -- What this read was like (SPEC §4.3 evidence quality), kept until the next read completes.
  local q = redis.call('HMGET', rs, 'dis', 'rheld', 'rbad', 'rlate')
  local dis, held, bad = q[1] == '1', tonumber(q[2]) or 0, tonumber(q[3]) or 0
  redis.call('HSET', rs, 'lastComplete', ARGV[4], 'qdis', dis and '1' or '0', 'qheld', fmt(held), 'qbad', fmt(bad), 'qlate', q[4] or '0')
  if not dis and held == 0 and bad == 0 then redis.call('HSET', rs, 'lastClean', ARGV[4]) end
  if dis then redis.call('HSET', rs, 'whole', '1') else redis.call('HDEL', rs, 'whole') end
  redis.call('HDEL', rs, 'cutoff', 'startedAt', 'segTop', 'floor', 'top', 'atop', 'token', 'tokenAt', 'duration',
    'ccut', 'unord', 'dis', 'rheld', 'rbad', 'rlate', 'plast', 'opg')
  redis.call('DEL', seenFloor)
  for _, f in ipairs(redis.call('HKEYS', hours)) do
    local c = string.find(f, ':', 3, true)
    local h = tonumber(string.sub(f, 3, c and (c - 1) or -1))
    if h == nil or h < minHour then redis.call('HDEL', hours, f) end
  end
else
  if not unord and not trusted then redis.call('HINCRBY', rs, 'opg', 1) end
  local set = {'token', ARGV[3], 'tokenAt', ARGV[4], 'duration', ARGV[5]}
  if pmin ~= nil then set[#set + 1] = 'plast'; set[#set + 1] = fmt(pmin) end
  if newSegTop ~= nil then set[#set + 1] = 'segTop'; set[#set + 1] = fmt(newSegTop) end
  if newFloor ~= nil then set[#set + 1] = 'floor'; set[#set + 1] = fmt(newFloor) end
  if newTop ~= nil then set[#set + 1] = 'top'; set[#set + 1] = fmt(newTop) end
  if atop ~= nil then set[#set + 1] = 'atop'; set[#set + 1] = fmt(atop) end
  redis.call('HSET', rs, unpack(set))
  if newFloor ~= nil then
    redis.call('ZREMRANGEBYSCORE', seenFloor, '(' .. fmt(newFloor + ov), '+inf')
    -- Ids inside the zone are not needed for restarts, only those the next read's lookback
    -- reaches (>= the newest time seen minus the lookback).
    local hi = newSegTop ~= nil and newSegTop - ov or nil
    if hi ~= nil and newTop ~= nil and newTop - lb < hi then hi = newTop - lb end
    if trusted and hi ~= nil and newFloor + ov < hi then
      redis.call('ZREMRANGEBYSCORE', seenTop, '(' .. fmt(newFloor + ov), '(' .. fmt(hi))
    end
  end
  redis.call('PEXPIRE', lock, ARGV[14] or '300000')
end
if folded > 0 or complete then redis.call('INCR', KEYS[9]) end
local out = {folded, skipped, complete and 1 or 0, late, unord and 1 or 0}
for _, f in ipairs(newFamilies) do out[#out + 1] = f end
return out
`;

const ACQUIRE = `return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0`;

interface IngestScriptedRedis extends Redis {
  zjtFoldPage(...args: Array<string | number>): Promise<Array<number | string>>;
  zjtReadLock(key: string, token: string, ttlMs: number): Promise<number>;
  zjtReadUnlock(key: string, token: string): Promise<number>;
}

/** defineCommand is per connection; define once and reuse (EVALSHA with EVAL fallback). */
function withIngestScripts(redis: Redis): IngestScriptedRedis {
  const r = redis as IngestScriptedRedis;
  if (typeof r.zjtFoldPage !== 'function') {
    redis.defineCommand('zjtFoldPage', { lua: FOLD_PAGE });
    redis.defineCommand('zjtReadLock', { lua: ACQUIRE, numberOfKeys: 1 });
    redis.defineCommand('zjtReadUnlock', { lua: RELEASE_IF_HELD, numberOfKeys: 1 });
  }
  return r;
}

export function createUsageIngest(deps: { redis: Redis; keys: Keys }): UsageIngest {
  const { keys } = deps;
  const redis = withIngestScripts(deps.redis);
  const k = usageKeys(keys);

  return {
    async readState(appId) {
      const h = await redis.hgetall(k.readstate(appId));
      const state: ReadState = {};
      const wm = num(h.watermark);
      const lc = num(h.lastComplete);
      if (wm !== undefined) state.watermark = wm;
      if (lc !== undefined) {
        state.lastComplete = lc;
        state.quality = { unordered: h.qdis === '1', heldBack: num(h.qheld) ?? 0, unreadable: num(h.qbad) ?? 0, late: num(h.qlate) ?? 0 };
      }
      const clean = num(h.lastClean);
      if (clean !== undefined) state.lastClean = clean;
      if (h.whole === '1') state.readWhole = true;
      const cutoff = num(h.cutoff);
      if (cutoff !== undefined) {
        const p: NonNullable<ReadState['inProgress']> = { cutoff, startedAt: num(h.startedAt) ?? 0, unordered: h.unord === '1' };
        const opt = {
          segTop: num(h.segTop), floor: num(h.floor), top: num(h.top), tokenAt: num(h.tokenAt), duration: num(h.duration), lastPageMin: num(h.plast),
        };
        for (const [name, v] of Object.entries(opt)) if (v !== undefined) (p as unknown as Record<string, number>)[name] = v;
        if (h.token) p.token = h.token;
        state.inProgress = p;
      }
      return state;
    },
    async acquireReadLock(appId, ttlMs = READ_LOCK_TTL_MS) {
      const token = randomUUID();
      return (await redis.zjtReadLock(k.lock(appId), token, ttlMs)) === 1 ? token : null;
    },
    async releaseReadLock(appId, token) {
      await redis.zjtReadUnlock(k.lock(appId), token);
    },
    async foldPage(input) {
      const { appId, entries, now } = input;
      const dayIndex = new Map<string, number>();
      const dayKeys: string[] = [];
      const argv: Array<string | number> = [
        input.cutoff,
        input.firstOfAttempt ? '1' : '0',
        input.nextPageToken,
        now,
        input.duration,
        input.lockToken,
        OVERLAP_MS,
        Math.floor(now / HOUR_MS) - HOURS_KEPT + 1,
        SAMPLE_CAP,
        USAGE_RETENTION_DAYS * DAY_MS,
        entries.length,
      ];
      const tail = [READ_LOCK_TTL_MS, LOOKBACK_MS, input.ordered ? '1' : '0', input.heldBack, input.unreadable, SEEN_CAP, TRUST_PAGES];
      const endpointIndex = new Map<string, number>();
      const endpointPairs: Array<[string, string]> = [];
      const rows: Array<[string, number, number, number, string, number, string]> = [];
      const sampleFloor = input.sampleFloor ?? Number.NEGATIVE_INFINITY;
      for (const e of entries) {
        let di = dayIndex.get(e.day);
        if (di === undefined) {
          dayKeys.push(k.day(appId, e.day));
          di = dayKeys.length;
          dayIndex.set(e.day, di);
        }
        const pair = `${e.endpointKey}\n${e.family}`;
        let ei = endpointIndex.get(pair);
        if (ei === undefined) {
          ei = endpointPairs.push([e.endpointKey, e.family]);
          endpointIndex.set(pair, ei);
        }
        rows.push([e.traceId, e.time, di, e.hour, e.statusClass, ei, e.time < sampleFloor ? '' : JSON.stringify(e.sample)]);
      }
      argv.push(JSON.stringify(endpointPairs), JSON.stringify(rows), ...tail);
      const fixed = [
        k.readstate(appId), k.seenTop(appId), k.seenFloor(appId), k.hours(appId),
        k.summary(appId), k.families(appId), k.sample(appId), k.lock(appId), statusEpochKey(keys),
      ];
      const allKeys = [...fixed, ...dayKeys];
      const r = await redis.zjtFoldPage(allKeys.length, ...allKeys, ...argv);
      if (Number(r[0]) === -1) throw new ReadLockLostError(appId);
      return {
        folded: Number(r[0]),
        skipped: Number(r[1]),
        complete: Number(r[2]) === 1,
        late: Number(r[3]),
        unordered: Number(r[4]) === 1,
        newFamilies: r.slice(5).map(String),
      };
    },
  };
}
