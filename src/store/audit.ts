/**
 * The audit log (SPEC §5.4): one append-only Redis stream, `{prefix}:audit`, whose entries form a
 * hash chain, plus `{prefix}:audit:head` holding the newest entry's hash.
 *
 *   hash = sha256(prev + '\n' + canonicalJson(entry without id and hash))
 *
 * `prev` is the previous entry's hash (64 zeros for the first entry). Editing a field breaks that
 * entry's hash; removing an entry breaks the next entry's `prev`; removing entries from the end
 * leaves the head pointing at a hash that is no longer last. The chain shows tampering by anyone
 * who does not rewrite the whole log; it is evidence, not a signature.
 *
 * Appends are compare-and-append in one Lua script (the head must still be the hash we chained
 * to), so they are safe across processes without WATCH/MULTI, which a shared auto-pipelined
 * connection cannot use. Within one process, appends on the same connection are queued so they
 * do not race each other into conflicts. Nothing here trims, edits or deletes the stream.
 *
 * An append may carry a `dedupeKey` (e.g. `<requestId>:<step>`): the script records it in
 * `{prefix}:audit:dedupe` with the entry's id, and a later append with the same key adds nothing
 * and returns that first entry, so a step re-run after a crash is logged once.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Keys } from './keys';

export const AUDIT_TYPES = [
  'app.tracked',
  'app.untracked',
  'app.owner',
  'app.migrated',
  'app.gone',
  'request.opened',
  'request.refused',
  'request.signed',
  'request.rejected',
  'request.cancelled',
  'request.expired',
  'request.approved',
  'execution.started',
  'execution.dry_run',
  'execution.succeeded',
  'execution.failed',
  'execution.aborted',
  'execution.paused',
  'operator.step',
  'operator.done',
  'operator.expired',
  'alert',
  'digest.posted',
  'config',
] as const;

export type AuditType = (typeof AUDIT_TYPES)[number];

export type AuditDetails = Record<string, string | number | boolean | null>;

export interface AuditInput {
  type: AuditType;
  /** Slack user id, or 'system' for jobs. */
  actor?: string;
  appId?: string;
  account?: string;
  requestId?: string;
  /** One human sentence. */
  summary: string;
  details?: AuditDetails;
}

export interface AuditEntry extends AuditInput {
  /** Stream id, `<ms>-<seq>`. */
  id: string;
  /** Epoch ms from the injected clock when the entry was appended. */
  at: number;
  prev: string;
  hash: string;
}

export interface VerifyResult {
  ok: boolean;
  count: number;
  firstBadId?: string;
  reason?: string;
}

export interface AppendOptions {
  /** At most one entry is ever appended per key; a repeat returns the first entry unchanged. */
  dedupeKey?: string;
}

export interface AuditLog {
  append(input: AuditInput, options?: AppendOptions): Promise<AuditEntry>;
  /**
   * Newest first. With a filter, scans backwards at most LATEST_SCAN_CAP entries, so an app whose
   * last entry is older than that returns fewer (or no) entries.
   */
  latest(limit: number, filter?: { appId?: string; requestId?: string }): Promise<AuditEntry[]>;
  /** Entries with `at >= ms`, oldest first, at most `limit` (default 1,000). */
  since(ms: number, limit?: number): Promise<AuditEntry[]>;
  /** The whole log oldest first (or from `sinceMs`), read `batch` entries at a time (default 500). */
  iterate(batch?: number, sinceMs?: number): AsyncIterable<AuditEntry>;
  /** Walks the whole log recomputing every hash and link, then checks the head. */
  verify(): Promise<VerifyResult>;
}

export type AuditErrorCode = 'audit_invalid' | 'audit_contended' | 'audit_head_missing' | 'audit_dedupe_dangling';

export class AuditError extends Error {
  constructor(
    readonly code: AuditErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AuditError';
  }
}

export const GENESIS_HASH = '0'.repeat(64);

/** How many entries a filtered `latest()` looks at before giving up: bounds one Slack command's cost. */
export const LATEST_SCAN_CAP = 5_000;
const SCAN_BATCH = 500;
const DEFAULT_SINCE_LIMIT = 1_000;
/** Cross-process conflicts are rare (in-process appends are queued), so a few retries suffice. */
const MAX_APPEND_ATTEMPTS = 25;

/** JSON with object keys sorted at every level, so the same entry always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value);
    return text === undefined ? 'null' : text;
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const parts = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`);
  return `{${parts.join(',')}}`;
}

/** The hash of an entry; exported so tools (and tests) can check an export offline. */
export function entryHash(entry: Omit<AuditEntry, 'id' | 'hash'>): string {
  const body: Record<string, unknown> = {
    type: entry.type,
    at: entry.at,
    prev: entry.prev,
    summary: entry.summary,
    actor: entry.actor,
    appId: entry.appId,
    account: entry.account,
    requestId: entry.requestId,
    details: entry.details,
  };
  return createHash('sha256').update(`${entry.prev}\n${canonicalJson(body)}`).digest('hex');
}

// KEYS[1] stream, KEYS[2] head, KEYS[3] dedupe hash (key → entry id). ARGV[1] expected prev,
// ARGV[2] new hash, ARGV[3] at (ms digits), ARGV[4] dedupe key ('' for none), ARGV[5..] field/value
// pairs. Returns {'ok', id} | {'conflict', currentHead} | {'broken', ''} | {'duplicate', firstId}.
// The stream id uses the entry's own `at` as its millisecond part (clamped to stay increasing), so
// `since(ms)` can range over ids and a fake clock in tests lines up with the ids.
const APPEND_LUA = `
if ARGV[4] ~= '' then
  local first = redis.call('HGET', KEYS[3], ARGV[4])
  if first then return {'duplicate', first} end
end
local head = redis.call('GET', KEYS[2])
local exists = redis.call('EXISTS', KEYS[1]) == 1
if not head then
  if exists and redis.call('XLEN', KEYS[1]) > 0 then return {'broken', ''} end
  head = '${GENESIS_HASH}'
end
if head ~= ARGV[1] then return {'conflict', head} end
local id = ARGV[3] .. '-0'
if exists then
  local info = redis.call('XINFO', 'STREAM', KEYS[1])
  local last = '0-0'
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then last = info[i + 1] end
  end
  local dash = string.find(last, '-', 1, true)
  local lastMs = string.sub(last, 1, dash - 1)
  if tonumber(ARGV[3]) <= tonumber(lastMs) then
    id = lastMs .. '-' .. string.format('%d', tonumber(string.sub(last, dash + 1)) + 1)
  end
end
if id == '0-0' then id = '0-1' end
local fields = {}
for i = 5, #ARGV do fields[#fields + 1] = ARGV[i] end
local added = redis.call('XADD', KEYS[1], id, unpack(fields))
redis.call('SET', KEYS[2], ARGV[2])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[3], ARGV[4], added) end
return {'ok', added}
`;

// Renamed with the dedupe key (three keys now): a connection that defined the older two-key
// script under the old name keeps it, this name always means the current one.
const APPEND_COMMAND = 'zoomjwtAuditAppendOnce';

type AppendCommand = (stream: string, head: string, dedupe: string, ...args: string[]) => Promise<[string, string]>;

type StreamReply = Array<[id: string, fields: string[]]>;

/**
 * Appends on one connection to one stream run one after another: otherwise every concurrent
 * append from this process would read the same head and all but one would conflict.
 */
interface AppendLane {
  tail: Promise<unknown>;
  /** The head after our last successful append; saves a GET when nobody else wrote since. */
  head: string | undefined;
}
const lanes = new WeakMap<object, Map<string, AppendLane>>();

function laneFor(redis: Redis, stream: string): AppendLane {
  let byStream = lanes.get(redis);
  if (!byStream) {
    byStream = new Map();
    lanes.set(redis, byStream);
  }
  let lane = byStream.get(stream);
  if (!lane) {
    lane = { tail: Promise.resolve(), head: undefined };
    byStream.set(stream, lane);
  }
  return lane;
}

const TYPE_SET: ReadonlySet<string> = new Set(AUDIT_TYPES);

function normalise(input: AuditInput): Omit<AuditInput, 'details'> & { details?: AuditDetails } {
  if (!TYPE_SET.has(input.type)) throw new AuditError('audit_invalid', `unknown audit entry type "${String(input.type)}"`);
  if (typeof input.summary !== 'string' || input.summary.trim() === '') {
    throw new AuditError('audit_invalid', 'an audit entry needs a summary sentence');
  }
  const out: AuditInput = { type: input.type, summary: input.summary };
  for (const field of ['actor', 'appId', 'account', 'requestId'] as const) {
    const v = input[field];
    if (v !== undefined) {
      if (typeof v !== 'string') throw new AuditError('audit_invalid', `audit entry field ${field} must be a string`);
      out[field] = v;
    }
  }
  if (input.details !== undefined) {
    // Round-trip through JSON so what we hash is exactly what reading the stream gives back
    // (NaN and Infinity become null, undefined values disappear).
    out.details = JSON.parse(JSON.stringify(input.details)) as AuditDetails;
  }
  return out;
}

function toFields(entry: Omit<AuditEntry, 'id'>): string[] {
  const fields = ['type', entry.type, 'at', String(entry.at)];
  if (entry.actor !== undefined) fields.push('actor', entry.actor);
  if (entry.appId !== undefined) fields.push('appId', entry.appId);
  if (entry.account !== undefined) fields.push('account', entry.account);
  if (entry.requestId !== undefined) fields.push('requestId', entry.requestId);
  fields.push('summary', entry.summary);
  if (entry.details !== undefined) fields.push('details', canonicalJson(entry.details));
  fields.push('prev', entry.prev, 'hash', entry.hash);
  return fields;
}

/**
 * Parses a stream entry. Lenient: a malformed entry still comes back (so it can be shown and
 * reported by verify) with whatever fields it has; verify then fails on its hash.
 */
function fromStream(id: string, raw: string[]): AuditEntry {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < raw.length; i += 2) f.set(raw[i]!, raw[i + 1]!);
  const entry: AuditEntry = {
    id,
    type: (f.get('type') ?? '') as AuditType,
    at: Number(f.get('at') ?? NaN),
    summary: f.get('summary') ?? '',
    prev: f.get('prev') ?? '',
    hash: f.get('hash') ?? '',
  };
  for (const field of ['actor', 'appId', 'account', 'requestId'] as const) {
    const v = f.get(field);
    if (v !== undefined) entry[field] = v;
  }
  const details = f.get('details');
  if (details !== undefined) {
    try {
      entry.details = JSON.parse(details) as AuditDetails;
    } catch {
      // Keep the raw text visible; the hash check will flag the entry.
      entry.details = { unparsable: details };
    }
  }
  return entry;
}

/** `(id` is Redis's exclusive range bound (Redis ≥ 6.2). */
const after = (id: string) => `(${id}`;

export function createAuditLog(deps: { redis: Redis; keys: Keys; clock: () => number }): AuditLog {
  const { redis, keys, clock } = deps;
  const streamKey = keys.k('audit');
  const headKey = keys.k('audit', 'head');
  const dedupeKey = keys.k('audit', 'dedupe');

  const commands = redis as unknown as Record<string, AppendCommand | undefined>;
  if (typeof commands[APPEND_COMMAND] !== 'function') {
    redis.defineCommand(APPEND_COMMAND, { numberOfKeys: 3, lua: APPEND_LUA });
  }
  const appendScript: AppendCommand = (...args) => (commands[APPEND_COMMAND] as AppendCommand).apply(redis, args);

  async function appendOnce(input: AuditInput, lane: AppendLane, once: string): Promise<AuditEntry> {
    const base = normalise(input);
    const at = Math.trunc(clock());
    if (!Number.isFinite(at) || at < 0) throw new AuditError('audit_invalid', 'the clock returned an invalid time');
    let prev = lane.head ?? (await redis.get(headKey)) ?? GENESIS_HASH;
    for (let attempt = 1; attempt <= MAX_APPEND_ATTEMPTS; attempt++) {
      const unsigned = { ...base, at, prev };
      const hash = entryHash(unsigned);
      const entry = { ...unsigned, hash };
      const [status, value] = await appendScript(streamKey, headKey, dedupeKey, prev, hash, String(at), once, ...toFields(entry));
      if (status === 'ok') {
        lane.head = hash;
        return { id: value, ...entry };
      }
      if (status === 'duplicate') {
        const [first] = await range(value, 1);
        if (!first || first.id !== value) {
          throw new AuditError('audit_dedupe_dangling', 'an audit dedupe key points at an entry that is not in the log; run audit:verify');
        }
        return first;
      }
      if (status === 'broken') {
        lane.head = undefined;
        throw new AuditError('audit_head_missing', 'the audit log head is missing while the log has entries; run audit:verify');
      }
      // Another process appended first: chain to its head (returned by the script, read
      // atomically) after a tiny jitter so two writers do not keep colliding in lockstep.
      prev = value;
      lane.head = undefined;
      await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * Math.min(attempt, 5) * 2)));
    }
    throw new AuditError('audit_contended', `audit append gave up after ${MAX_APPEND_ATTEMPTS} conflicting attempts`);
  }

  async function range(start: string, count: number): Promise<AuditEntry[]> {
    const rows = (await redis.xrange(streamKey, start, '+', 'COUNT', count)) as StreamReply;
    return rows.map(([id, fields]) => fromStream(id, fields));
  }

  async function revrange(end: string, count: number): Promise<AuditEntry[]> {
    const rows = (await redis.xrevrange(streamKey, end, '-', 'COUNT', count)) as StreamReply;
    return rows.map(([id, fields]) => fromStream(id, fields));
  }

  async function* iterate(batch = SCAN_BATCH, sinceMs?: number): AsyncGenerator<AuditEntry> {
    const size = Math.max(1, Math.min(Math.trunc(batch) || SCAN_BATCH, 10_000));
    // Ids carry `at` (clamped upwards), so every entry with at >= sinceMs has an id >= sinceMs.
    let start = sinceMs === undefined || !Number.isFinite(sinceMs) ? '-' : String(Math.max(0, Math.trunc(sinceMs)));
    for (;;) {
      const page = await range(start, size);
      for (const entry of page) {
        if (sinceMs === undefined || entry.at >= sinceMs) yield entry;
      }
      const last = page[page.length - 1];
      if (!last || page.length < size) return;
      start = after(last.id);
    }
  }

  function checkEntry(entry: AuditEntry, expectedPrev: string): string | undefined {
    if (entry.prev !== expectedPrev) {
      return expectedPrev === GENESIS_HASH && entry.prev !== ''
        ? 'the first entry does not start the chain (entries before it were removed)'
        : 'its prev does not match the hash of the entry before it (an entry was removed or altered before it)';
    }
    if (!TYPE_SET.has(entry.type) || !Number.isFinite(entry.at)) return 'the entry is malformed (fields were altered)';
    const { id: _id, hash, ...rest } = entry;
    if (entryHash(rest) !== hash) return 'its hash does not match its contents (a field was edited)';
    return undefined;
  }

  return {
    async append(input, options) {
      const once = options?.dedupeKey ?? '';
      const lane = laneFor(redis, streamKey);
      const run = lane.tail.then(() => appendOnce(input, lane, once));
      lane.tail = run.catch(() => undefined);
      return run;
    },

    async latest(limit, filter) {
      const want = Math.max(0, Math.trunc(limit));
      if (want === 0) return [];
      const appId = filter?.appId;
      const requestId = filter?.requestId;
      if (appId === undefined && requestId === undefined) return revrange('+', want);
      const out: AuditEntry[] = [];
      let end = '+';
      let scanned = 0;
      while (out.length < want && scanned < LATEST_SCAN_CAP) {
        const page = await revrange(end, Math.min(SCAN_BATCH, LATEST_SCAN_CAP - scanned));
        for (const entry of page) {
          if ((appId === undefined || entry.appId === appId) && (requestId === undefined || entry.requestId === requestId)) {
            out.push(entry);
            if (out.length === want) break;
          }
        }
        scanned += page.length;
        const last = page[page.length - 1];
        if (!last || page.length < SCAN_BATCH) break;
        end = after(last.id);
      }
      return out;
    },

    async since(ms, limit = DEFAULT_SINCE_LIMIT) {
      const want = Math.max(0, Math.trunc(limit));
      const out: AuditEntry[] = [];
      if (want === 0) return out;
      for await (const entry of iterate(Math.min(want, SCAN_BATCH), ms)) {
        out.push(entry);
        if (out.length === want) break;
      }
      return out;
    },

    iterate,

    async verify() {
      let expectedPrev = GENESIS_HASH;
      let count = 0;
      let lastId: string | undefined;
      const walk = async (from: string): Promise<VerifyResult | undefined> => {
        for (let start = from; ; ) {
          const page = await range(start, SCAN_BATCH);
          for (const entry of page) {
            const problem = checkEntry(entry, expectedPrev);
            if (problem) return { ok: false, count, firstBadId: entry.id, reason: problem };
            count += 1;
            expectedPrev = entry.hash;
            lastId = entry.id;
          }
          const last = page[page.length - 1];
          if (!last || page.length < SCAN_BATCH) return undefined;
          start = after(last.id);
        }
      };
      const broken = await walk('-');
      if (broken) return broken;
      // Appends may land while we walk: if the head moved past what we saw, check the new
      // entries too. Give up after a few rounds only if writers keep outrunning us.
      for (let round = 0; round < 5; round++) {
        const head = await redis.get(headKey);
        if (head === null) {
          return count === 0
            ? { ok: true, count }
            : { ok: false, count, firstBadId: lastId, reason: 'the head key is missing' };
        }
        if (head === expectedPrev) return { ok: true, count };
        const before = count;
        const more = await walk(lastId === undefined ? '-' : after(lastId));
        if (more) return more;
        if (count === before) {
          return {
            ok: false,
            count,
            ...(lastId === undefined ? {} : { firstBadId: lastId }),
            reason: 'the head does not match the last entry (entries were removed from the end)',
          };
        }
      }
      return { ok: false, count, reason: 'the log kept growing while it was verified; run it again' };
    },
  };
}
