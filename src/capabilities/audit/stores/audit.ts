/**
 * The audit log (SPEC §5.4): one append-only Redis stream, `{prefix}:audit`, whose entries form a
 * hash chain, plus witnesses kept apart from the stream:
 *
 *   `{prefix}:audit:head`   the newest entry's hash
 *   `{prefix}:audit:count`  how many entries were ever appended
 *   `{prefix}:audit:keyid`  the id of AUDIT_KEY, once the chain was switched to it
 *   `{prefix}:install`      written when a process starts (`createdAt`) and at the first append
 *                           (`auditSince`): "an install lives under this prefix"
 *
 * Entries are chained as ../chain.ts says (the hash, `prev`, the keyed variant). Editing a field
 * breaks that entry's hash; removing an entry breaks the next entry's `prev`; removing entries
 * from the end leaves the head and the counter pointing past the last entry; deleting the stream
 * leaves the head, the counter and the install marker. Without AUDIT_KEY, whoever can write Redis
 * can still rewrite the whole chain consistently; with it, they cannot without the key. Deleting
 * every key of the log and the install marker looks like a new install: only the head posted in
 * the daily digest (outside Redis) shows that, through `audit:verify --head --count`.
 *
 * Once the chain is keyed it stays keyed: the first keyed append after unkeyed entries (or into
 * an empty log) first appends a `config` entry recording the switch, and an append without the
 * key, or under another key, is refused rather than chained.
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
import type { Redis } from 'ioredis';
import type { Keys } from '../../../platform/redis/keys';
import type { Clock } from '../../../kernel/clock';
import {
  AUDIT_KEY_MIN_LENGTH,
  AuditError,
  auditKeyId,
  canonicalJson,
  checkHash,
  checkLink,
  entryHash,
  GENESIS_HASH,
  normalise,
  type AuditDetails,
  type AuditEntry,
  type AuditInput,
  type AuditType,
  type ChainKind,
  type VerifyExpectation,
  type VerifyResult,
} from '../chain';

export interface AuditHead {
  /** Entries appended so far (the counter, or the stream's length before the counter existed). */
  count: number;
  /** The newest entry's hash. */
  hash: string;
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
  /**
   * Walks the whole log recomputing every hash and link, then checks the head, the counter and
   * the install marker, and (when given) that the chain still reaches what an outside copy says.
   */
  verify(expect?: VerifyExpectation): Promise<VerifyResult>;
  /** The newest entry's hash and the entry count, read together; undefined for an empty log. */
  head(): Promise<AuditHead | undefined>;
  /** Records that an install lives under this prefix (idempotent); the composition root calls it. */
  markInstalled(): Promise<void>;
}

/** How many entries a filtered `latest()` looks at before giving up: bounds one Slack command's cost. */
export const LATEST_SCAN_CAP = 5_000;
const SCAN_BATCH = 500;
const DEFAULT_SINCE_LIMIT = 1_000;
/** Cross-process conflicts are rare (in-process appends are queued), so a few retries suffice. */
const MAX_APPEND_ATTEMPTS = 25;

// KEYS[1] stream, KEYS[2] head, KEYS[3] dedupe hash (key → entry id), KEYS[4] counter, KEYS[5]
// key id of a keyed chain, KEYS[6] install marker. ARGV[1] expected prev, ARGV[2] new hash, ARGV[3]
// at (ms digits), ARGV[4] dedupe key ('' for none), ARGV[5] key id of this entry ('' unkeyed),
// ARGV[6] '1' when this entry switches the chain to that key, ARGV[7..] field/value pairs.
// Returns {'ok', id} | {'conflict', currentHead} | {'broken', ''} | {'duplicate', firstId} |
// {'keyed', keyId} (the chain is keyed under keyId and this entry is not) | {'switch', ''} (append
// the switch entry first) | {'switched', keyId} (another writer already switched).
// The stream id uses the entry's own `at` as its millisecond part (clamped to stay increasing), so
// `since(ms)` can range over ids and a fake clock in tests lines up with the ids.
// The witnesses must agree before anything is chained: no head while the stream, the counter or
// the install marker says entries existed, or a head with no stream, is 'broken', so a deleted
// log is never silently restarted from the genesis hash.
const APPEND_LUA = `
if ARGV[4] ~= '' then
  local first = redis.call('HGET', KEYS[3], ARGV[4])
  if first then return {'duplicate', first} end
end
local keyed = redis.call('GET', KEYS[5])
if keyed then
  if ARGV[5] ~= keyed then return {'keyed', keyed} end
  if ARGV[6] == '1' then return {'switched', keyed} end
elseif ARGV[5] ~= '' and ARGV[6] ~= '1' then
  return {'switch', ''}
end
local head = redis.call('GET', KEYS[2])
local len = redis.call('XLEN', KEYS[1])
local count = redis.call('GET', KEYS[4])
if not head then
  if len > 0 or (count and tonumber(count) > 0) or redis.call('HEXISTS', KEYS[6], 'auditSince') == 1 then
    return {'broken', ''}
  end
  head = '${GENESIS_HASH}'
elseif len == 0 then
  return {'broken', ''}
end
if head ~= ARGV[1] then return {'conflict', head} end
local id = ARGV[3] .. '-0'
if redis.call('EXISTS', KEYS[1]) == 1 then
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
for i = 7, #ARGV do fields[#fields + 1] = ARGV[i] end
local added = redis.call('XADD', KEYS[1], id, unpack(fields))
redis.call('SET', KEYS[2], ARGV[2])
-- An install older than the counter starts it at the stream's length.
if count then redis.call('INCR', KEYS[4]) else redis.call('SET', KEYS[4], len + 1) end
if ARGV[6] == '1' then redis.call('SET', KEYS[5], ARGV[5]) end
redis.call('HSETNX', KEYS[6], 'auditSince', ARGV[3])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[3], ARGV[4], added) end
return {'ok', added}
`;

// Renamed with each change of its keys (six now): a connection that defined an older script
// under an older name keeps it, this name always means the current one.
const APPEND_COMMAND = 'zoomjwtAuditAppendWitnessed';

type AppendCommand = (stream: string, head: string, dedupe: string, count: string, keyid: string, install: string, ...args: string[]) => Promise<[string, string]>;

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


function toFields(entry: Omit<AuditEntry, 'id'>): string[] {
  const fields = ['type', entry.type, 'at', String(entry.at)];
  if (entry.actor !== undefined) fields.push('actor', entry.actor);
  if (entry.appId !== undefined) fields.push('appId', entry.appId);
  if (entry.account !== undefined) fields.push('account', entry.account);
  if (entry.requestId !== undefined) fields.push('requestId', entry.requestId);
  fields.push('summary', entry.summary);
  if (entry.details !== undefined) fields.push('details', canonicalJson(entry.details));
  if (entry.chain !== undefined) fields.push('chain', entry.chain);
  if (entry.keyId !== undefined) fields.push('keyId', entry.keyId);
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
  for (const field of ['actor', 'appId', 'account', 'requestId', 'keyId'] as const) {
    const v = f.get(field);
    if (v !== undefined) entry[field] = v;
  }
  const chain = f.get('chain');
  // Kept as found, even when unknown: verify reports it as malformed.
  if (chain !== undefined) entry.chain = chain as ChainKind;
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

const short = (hash: string) => hash.slice(0, 12);

export interface AuditLogDeps {
  redis: Redis;
  keys: Keys;
  clock: Clock;
  /**
   * AUDIT_KEY: chain new entries with HMAC-SHA256 under it, and check keyed entries with it.
   * Without it, entries are chained with plain SHA-256 and a keyed log cannot be appended to.
   */
  key?: string;
}

export function createAuditLog(deps: AuditLogDeps): AuditLog {
  const { redis, keys, clock } = deps;
  const key = deps.key;
  if (key !== undefined && key.length < AUDIT_KEY_MIN_LENGTH) {
    throw new AuditError('audit_invalid', `AUDIT_KEY must be at least ${AUDIT_KEY_MIN_LENGTH} characters`);
  }
  const keyId = key === undefined ? '' : auditKeyId(key);
  const streamKey = keys.k('audit');
  const headKey = keys.k('audit', 'head');
  const dedupeKey = keys.k('audit', 'dedupe');
  const countKey = keys.k('audit', 'count');
  const keyIdKey = keys.k('audit', 'keyid');
  const installKey = keys.k('install');

  const commands = redis as unknown as Record<string, AppendCommand | undefined>;
  if (typeof commands[APPEND_COMMAND] !== 'function') {
    redis.defineCommand(APPEND_COMMAND, { numberOfKeys: 6, lua: APPEND_LUA });
  }
  const appendScript: AppendCommand = (...args) => (commands[APPEND_COMMAND] as AppendCommand).apply(redis, args);

  /** The entry that records the switch to AUDIT_KEY; itself the first keyed entry. */
  const switchEntry = (): AuditInput => ({
    type: 'config',
    actor: 'system',
    summary: `Audit chain keyed: from this entry on, entries are chained with HMAC-SHA256 under AUDIT_KEY (key id ${keyId})`,
    details: { chain: 'hmac-sha256', keyId },
  });

  /**
   * One entry onto the chain. `switching` marks the switch entry: it returns null when another
   * writer switched first (nothing appended).
   */
  async function appendOnce(input: AuditInput, lane: AppendLane, once: string, switching = false): Promise<AuditEntry | null> {
    const base = normalise(input);
    const at = Math.trunc(clock());
    if (!Number.isFinite(at) || at < 0) throw new AuditError('audit_invalid', 'the clock returned an invalid time');
    let prev = lane.head ?? (await redis.get(headKey)) ?? GENESIS_HASH;
    for (let attempt = 1; attempt <= MAX_APPEND_ATTEMPTS; attempt++) {
      const unsigned: Omit<AuditEntry, 'id' | 'hash'> = key === undefined
        ? { ...base, at, chain: 'sha256', prev }
        : { ...base, at, chain: 'hmac-sha256', keyId, prev };
      const hash = entryHash(unsigned, key);
      const entry = { ...unsigned, hash };
      const [status, value] = await appendScript(
        streamKey, headKey, dedupeKey, countKey, keyIdKey, installKey,
        prev, hash, String(at), once, keyId, switching ? '1' : '', ...toFields(entry),
      );
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
        throw new AuditError('audit_head_missing', 'the audit log head or stream is missing while other keys say it has entries; run audit:verify');
      }
      if (status === 'keyed') {
        throw new AuditError(
          'audit_key_required',
          key === undefined
            ? `the audit log is chained under AUDIT_KEY (key id ${value}); set AUDIT_KEY to append to it`
            : `the audit log is chained under another AUDIT_KEY (key id ${value}, this one is ${keyId}); set that key again`,
        );
      }
      if (status === 'switched') return null;
      if (status === 'switch') {
        // First keyed append: record the switch, then chain this entry after it.
        await appendOnce(switchEntry(), lane, '', true);
        prev = lane.head ?? (await redis.get(headKey)) ?? GENESIS_HASH;
        continue;
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

  /** What the keys outside the stream say, as sentences for a failure message. */
  interface Witnesses {
    head: string | null;
    count: number | null;
    keyId: string | null;
    createdAt?: number;
    auditSince?: number;
  }

  async function readWitnesses(): Promise<Witnesses> {
    const [[head, count, keyed], install] = await Promise.all([
      redis.mget(headKey, countKey, keyIdKey),
      redis.hgetall(installKey),
    ]);
    const w: Witnesses = { head: head ?? null, count: count == null ? null : Number(count), keyId: keyed ?? null };
    if (install.createdAt !== undefined) w.createdAt = Number(install.createdAt);
    if (install.auditSince !== undefined) w.auditSince = Number(install.auditSince);
    return w;
  }

  const when = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString() : 'an unreadable time');

  function sayWitnesses(w: Witnesses): string {
    const said: string[] = [];
    if (w.head !== null) said.push(`the head key names entry hash ${short(w.head)}`);
    if (w.count !== null && w.count > 0) said.push(`the counter says ${w.count} entries were appended`);
    if (w.auditSince !== undefined) said.push(`the install marker says entries were appended since ${when(w.auditSince)}`);
    if (w.keyId !== null) said.push(`the chain was keyed (key id ${w.keyId})`);
    return said.join('; ');
  }


  return {
    async append(input, options) {
      const once = options?.dedupeKey ?? '';
      const lane = laneFor(redis, streamKey);
      const run = lane.tail.then(async () => (await appendOnce(input, lane, once))!);
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

    async head() {
      const [hash, count] = await redis.mget(headKey, countKey);
      if (hash == null) return undefined;
      return { hash, count: count == null ? await redis.xlen(streamKey) : Number(count) };
    },

    async markInstalled() {
      await redis.hsetnx(installKey, 'createdAt', String(Math.trunc(clock())));
    },

    async verify(expect) {
      const wantHead = expect?.head?.toLowerCase();
      const wantCount = expect?.count;
      const before = await readWitnesses();
      const streamThere = (await redis.exists(streamKey)) === 1;
      if (!streamThere && before.head === null && before.count === null && before.keyId === null && before.createdAt === undefined && before.auditSince === undefined) {
        return {
          ok: false,
          count: 0,
          unverifiable: true,
          reason: `no zoomjwt install under this prefix (none of ${streamKey}, ${headKey}, ${countKey} or ${installKey} exists): check REDIS_PREFIX, or the whole install was deleted`,
        };
      }

      let expectedPrev = GENESIS_HASH;
      let count = 0;
      let lastId: string | undefined;
      let firstKeyedId: string | undefined;
      let unkeyedBefore = 0;
      let atWantedCount: AuditEntry | undefined;
      let headSeen = false;
      const bad = (entry: AuditEntry, reason: string): VerifyResult => ({ ok: false, count, firstBadId: entry.id, reason });
      const walk = async (from: string): Promise<VerifyResult | undefined> => {
        for (let start = from; ; ) {
          const page = await range(start, SCAN_BATCH);
          for (const entry of page) {
            const broken = checkLink(entry, expectedPrev);
            if (broken) return bad(entry, broken);
            if (entry.chain === 'hmac-sha256') {
              if (key === undefined) {
                return {
                  ok: false, count, firstBadId: entry.id, unverifiable: true,
                  reason: `entries from here on are chained with HMAC-SHA256 under AUDIT_KEY (key id ${entry.keyId ?? '?'}); set AUDIT_KEY to verify them`,
                };
              }
              if (entry.keyId !== keyId) {
                if (firstKeyedId !== undefined) return bad(entry, `it names another key (id ${entry.keyId ?? 'none'}) than the keyed entries before it (fields were altered)`);
                return {
                  ok: false, count, firstBadId: entry.id, unverifiable: true,
                  reason: `entries from here on are chained under key id ${entry.keyId ?? '(none)'}, and this AUDIT_KEY has id ${keyId}: wrong key?`,
                };
              }
            }
            const problem = checkHash(entry, key);
            if (problem) return bad(entry, problem);
            if (entry.chain === 'hmac-sha256') firstKeyedId ??= entry.id;
            else if (firstKeyedId !== undefined) {
              return bad(entry, `an unkeyed entry after the chain was keyed at entry ${firstKeyedId} (the log was rewritten without AUDIT_KEY)`);
            } else unkeyedBefore += 1;
            count += 1;
            expectedPrev = entry.hash;
            lastId = entry.id;
            if (count === wantCount) atWantedCount = entry;
            if (wantHead !== undefined && entry.hash.startsWith(wantHead)) headSeen = true;
          }
          const last = page[page.length - 1];
          if (!last || page.length < SCAN_BATCH) return undefined;
          start = after(last.id);
        }
      };
      const broken = await walk('-');
      if (broken) return broken;
      const lastRef = () => (lastId === undefined ? {} : { firstBadId: lastId });
      // Appends may land while we walk: if the head moved past what we saw, check the new
      // entries too. Give up after a few rounds only if writers keep outrunning us.
      let settled: Witnesses | undefined;
      for (let round = 0; round < 5 && !settled; round++) {
        const w = await readWitnesses();
        if (w.head === null) {
          if (count === 0) {
            const said = sayWitnesses(w);
            if (said) return { ok: false, count, reason: `the audit log is empty, but ${said}: the stream was deleted` };
            settled = w;
            break;
          }
          const counter = w.count !== null ? ` (the counter says ${w.count} entries were appended)` : '';
          return { ok: false, count, ...lastRef(), reason: `the head key is missing${counter}` };
        }
        if (w.head === expectedPrev) {
          settled = w;
          break;
        }
        const walked = count;
        const more = await walk(lastId === undefined ? '-' : after(lastId));
        if (more) return more;
        if (count === walked) {
          if (count === 0) return { ok: false, count, reason: `the audit log is empty, but ${sayWitnesses(w)}: the stream was deleted` };
          return { ok: false, count, ...lastRef(), reason: `the head (${short(w.head)}) does not match the last entry (entries were removed from the end)` };
        }
      }
      if (!settled) return { ok: false, count, reason: 'the log kept growing while it was verified; run it again' };

      const head = count > 0 ? { head: expectedPrev } : {};
      if (settled.count !== null && settled.count !== count) {
        return {
          ok: false, count, ...head, ...lastRef(),
          reason: settled.count > count
            ? `the counter says ${settled.count} entries were appended, but the chain holds ${count} (entries were removed and the chain re-linked)`
            : `the chain holds ${count} entries, but the counter says only ${settled.count} were appended (entries were added outside zoomjwt)`,
        };
      }
      if (settled.keyId !== null && firstKeyedId === undefined) {
        return {
          ok: false, count, ...head, ...lastRef(),
          reason: `the chain was switched to AUDIT_KEY (key id ${settled.keyId}) but no entry is keyed: keyed entries were removed or rewritten without the key`,
        };
      }
      if (wantCount !== undefined && count < wantCount) {
        return {
          ok: false, count, ...head, ...lastRef(),
          reason: `the log holds ${count} entries, but the copy you gave says it held ${wantCount} (entries were removed from the end, or the log was replaced)`,
        };
      }
      if (wantHead !== undefined) {
        if (atWantedCount !== undefined && !atWantedCount.hash.startsWith(wantHead)) {
          return {
            ok: false, count, ...head, firstBadId: atWantedCount.id,
            reason: `entry ${wantCount} has hash ${short(atWantedCount.hash)}, but the copy you gave says ${wantHead}: the log was rewritten or replaced`,
          };
        }
        if (atWantedCount === undefined && !headSeen) {
          return { ok: false, count, ...head, reason: `no entry has a hash starting with ${wantHead}: the log was rewritten or replaced` };
        }
      }

      const notes: string[] = [];
      if (firstKeyedId !== undefined) {
        notes.push(`chained with HMAC-SHA256 (key id ${keyId}) from entry ${firstKeyedId}${unkeyedBefore ? `; the ${unkeyedBefore} entries before it are plain SHA-256` : ''}`);
      } else if (key !== undefined && count > 0) {
        notes.push(`AUDIT_KEY is set but no entry is keyed yet: the app switches to it at its next append`);
      }
      if (settled.count === null && count > 0) notes.push('no entry counter yet (the install predates it): it starts with the next append');
      return { ok: true, count, ...head, ...(notes.length ? { notes } : {}) };
    },
  };
}
