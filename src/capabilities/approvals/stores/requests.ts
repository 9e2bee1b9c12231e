/**
 * Approval requests in Redis (SPEC §5). Every state change is one Lua compare-and-set, so
 * concurrent clicks from any number of processes see one order of events:
 *
 *  - `{p}:request:<id>` hash: flat fields; `signatures` and `evidence` as JSON.
 *  - `{p}:requests:pending` sorted set id → expiresAt (the sweeper's index).
 *  - `{p}:requests:open` set of ids not yet in a final state (pending, approved, awaiting_operator).
 *  - `{p}:reqlock:<appId>:<action>` → the id holding the (app, action): one open request each.
 *
 * A request's hash lives until FINISHED_REQUEST_TTL_MS after it reached a final state.
 *
 * The quorum transition pending → approved happens inside the signing script, so exactly one
 * click ever sees `approved`; that caller alone queues the execution. Completions that also move
 * the app's lifecycle (removed, disabled at Done…) change the request and the app hash in one
 * script, so neither is ever recorded without the other.
 */
import type { Redis } from 'ioredis';
import type { LifecycleState, TrackedApp } from '../../evidence';
import type { ApprovalRequest, RequestStatus, Signature } from '../rules/request';
import { OPEN_STATUSES, OPERATOR_STEP_TTL_MS, type RequestEvidence, type StoredRequest } from '../rules/approval';
import type { Keys } from '../../../platform/redis/keys';
import { bumpSignatureEpoch, bumpStatusEpoch } from '../../../platform/redis/statusEpoch';

const NUMERIC = new Set(['createdAt', 'expiresAt', 'required', 'decidedAt', 'operatorDoneAt', 'executedAt', 'endedAt', 'pausedUntil', 'operatorDeadline']);
const JSON_FIELDS = new Set(['signatures', 'evidence']);

function toPairs(fields: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined || v === null) continue;
    // Outside JSON_FIELDS every field is a string, a number or a boolean (StoredRequest's types).
    // eslint-disable-next-line @typescript-eslint/no-base-to-string
    out.push(k, JSON_FIELDS.has(k) ? JSON.stringify(v) : String(v));
  }
  return out;
}

/** Lua HGETALL replies come back as a flat array. */
function fromFlat(flat: string[]): StoredRequest | null {
  const h: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) h[flat[i]!] = flat[i + 1]!;
  return fromHash(h);
}

function fromHash(h: Record<string, string>): StoredRequest | null {
  if (!h.id || !h.status || !h.action) return null;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(h)) {
    if (NUMERIC.has(k)) out[k] = Number(v);
    else if (k === 'signatures') {
      // Lua's cjson writes an empty list as {}; signatures carry `at` as a string to keep precision.
      const raw = JSON.parse(v) as Array<{ userId: string; at: string | number }> | Record<string, never>;
      out[k] = (Array.isArray(raw) ? raw : []).map((s): Signature => ({ userId: s.userId, at: Number(s.at) }));
    } else if (k === 'evidence') out[k] = JSON.parse(v) as RequestEvidence;
    else out[k] = v;
  }
  out.signatures ??= [];
  return out as unknown as StoredRequest;
}

const TERMINAL_LUA = `{rejected=true, cancelled=true, expired=true, executed=true, aborted=true, failed=true}`;

/**
 * A finished request's hash is kept this long after it ended (ms): the digest reads the last day's
 * failures, and a click on an old card gets the request's own answer ("already carried out")
 * for a month; after that the card is out of date and says so. The audit log keeps the history.
 */
export const FINISHED_REQUEST_TTL_MS = 30 * 86_400_000;

// KEYS: 1 lock, 2 request hash, 3 pending zset, 4 open set.
// ARGV: 1 id, 2 expiresAt, 3 request key prefix (to read the lock holder), 4.. field pairs.
// The lock is SET-if-free; a holder that is final (or gone) no longer counts as holding it.
const OPEN_LUA = `
local holder = redis.call('GET', KEYS[1])
if holder then
  local st = redis.call('HGET', ARGV[3] .. holder, 'status')
  if st == 'pending' or st == 'approved' or st == 'awaiting_operator' then return {'exists', holder} end
end
redis.call('SET', KEYS[1], ARGV[1])
local fv = {}
for i = 4, #ARGV do fv[#fv + 1] = ARGV[i] end
redis.call('HSET', KEYS[2], unpack(fv))
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[1])
return {'ok', ''}
`;

// Shared tail of the transition scripts: a request leaving 'pending' leaves the pending index;
// a final one also leaves the open set and frees its (app, action) lock.
const SETTLE_LUA = `
local TERMINAL = ${TERMINAL_LUA}
local function settle(id, to, lockKey)
  if to ~= 'pending' then redis.call('ZREM', KEYS[2], id) end
  if TERMINAL[to] then
    redis.call('SREM', KEYS[3], id)
    if redis.call('GET', lockKey) == id then redis.call('DEL', lockKey) end
    redis.call('PEXPIRE', KEYS[1], ${FINISHED_REQUEST_TTL_MS})
  end
end
local function expireNow(id, now, lockKey)
  redis.call('HSET', KEYS[1], 'status', 'expired', 'decidedAt', now, 'decidedBy', 'system', 'outcome', 'No decision before the deadline.')
  settle(id, 'expired', lockKey)
end
`;

// KEYS: 1 request, 2 pending, 3 open. ARGV: 1 user, 2 now, 3 lock prefix.
// Returns {code, ...HGETALL}: code is signed | approved | duplicate | requester | closed |
// expired (it expired just now, by this call) | unknown.
const SIGN_LUA = `${SETTLE_LUA}
local r = KEYS[1]
local st = redis.call('HMGET', r, 'status', 'requester', 'expiresAt', 'required', 'signatures', 'id', 'appId', 'action')
if not st[1] then return {'unknown'} end
local user, now = ARGV[1], tonumber(ARGV[2])
local lockKey = ARGV[3] .. st[7] .. ':' .. st[8]
local function reply(code)
  local out = {code}
  for _, v in ipairs(redis.call('HGETALL', r)) do out[#out + 1] = v end
  return out
end
if st[1] ~= 'pending' then return reply('closed') end
if now >= tonumber(st[3]) then
  expireNow(st[6], ARGV[2], lockKey)
  return reply('expired')
end
if user == st[2] then return reply('requester') end
local sigs = cjson.decode(st[5])
for _, s in ipairs(sigs) do
  if s.userId == user then return reply('duplicate') end
end
sigs[#sigs + 1] = {userId = user, at = ARGV[2]}
redis.call('HSET', r, 'signatures', cjson.encode(sigs))
if #sigs >= tonumber(st[4]) then
  redis.call('HSET', r, 'status', 'approved', 'decidedAt', ARGV[2])
  settle(st[6], 'approved', lockKey)
  return reply('approved')
end
return reply('signed')
`;

// KEYS: 1 request, 2 pending, 3 open, 4 app hash.
// ARGV: 1 allowed from-statuses (space separated), 2 to-status, 3 now, 4 expiry guard: 0 none,
// 1 a pending request past its deadline expires instead, 2 expire only (and only when due),
// 5 lock prefix, 6 app expected state
// ('' leaves the app alone), 7 app new state, 8 number of app field pairs n, then 2n app
// values, then request field pairs.
// Returns {code, ...HGETALL}: ok | unknown | status (not in an allowed status) | expired |
// not_due | app_state (the app was not in the expected state; nothing changed).
const TRANSITION_LUA = `${SETTLE_LUA}
local r = KEYS[1]
local st = redis.call('HMGET', r, 'status', 'expiresAt', 'id', 'appId', 'action')
if not st[1] then return {'unknown'} end
local lockKey = ARGV[5] .. st[4] .. ':' .. st[5]
local function reply(code)
  local out = {code}
  for _, v in ipairs(redis.call('HGETALL', r)) do out[#out + 1] = v end
  return out
end
local allowed = false
for s in string.gmatch(ARGV[1], '%S+') do if s == st[1] then allowed = true end end
if not allowed then return reply('status') end
local due = st[1] == 'pending' and tonumber(ARGV[3]) >= tonumber(st[2])
if ARGV[4] ~= '0' and due then
  expireNow(st[3], ARGV[3], lockKey)
  return reply('expired')
end
if ARGV[4] == '2' then return reply('not_due') end
local n = tonumber(ARGV[8])
if ARGV[6] ~= '' then
  local appState = redis.call('HGET', KEYS[4], 'state')
  if appState ~= ARGV[6] then return reply('app_state') end
  redis.call('HSET', KEYS[4], 'state', ARGV[7])
  for i = 9, 8 + 2 * n, 2 do redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 1]) end
end
local fv = {'status', ARGV[2]}
for i = 9 + 2 * n, #ARGV do fv[#fv + 1] = ARGV[i] end
redis.call('HSET', r, unpack(fv))
settle(st[3], ARGV[2], lockKey)
return reply('ok')
`;

export type OpenResult = { ok: true; request: StoredRequest } | { ok: false; existingId: string };

export type SignOutcome = 'signed' | 'approved' | 'duplicate' | 'requester' | 'closed' | 'expired' | 'unknown';

export interface SignResult {
  outcome: SignOutcome;
  /** The request after the call (absent only for 'unknown'). */
  request: StoredRequest | null;
}

export type TransitionOutcome = 'ok' | 'unknown' | 'status' | 'expired' | 'not_due' | 'app_state';

export interface TransitionResult {
  outcome: TransitionOutcome;
  request: StoredRequest | null;
}

/** A lifecycle change of the app made in the same atomic step as the request's. */
export interface AppChange {
  from: LifecycleState;
  to: LifecycleState;
  fields: Partial<TrackedApp>;
}

/** What opening a request fixes: the request's own fields, before any status or signature. */
export type NewRequest = Pick<
  ApprovalRequest,
  'id' | 'action' | 'appId' | 'account' | 'appName' | 'requester' | 'reason' | 'createdAt' | 'expiresAt' | 'required'
> & { evidence?: RequestEvidence };

export interface RequestStore {
  /** Opens a pending request unless an open one holds the same (app, action). */
  open(req: NewRequest): Promise<OpenResult>;
  get(id: string): Promise<StoredRequest | null>;
  /** Not yet final (pending, approved, awaiting_operator), oldest first. */
  listOpen(): Promise<StoredRequest[]>;
  /** Pending ids whose deadline is at or before `now`. */
  dueForExpiry(now: number, limit?: number): Promise<string[]>;
  /** Where the card lives (set once it is posted). */
  setCard(id: string, channel: string, ts: string): Promise<void>;

  sign(id: string, userId: string, now: number): Promise<SignResult>;
  /** pending → rejected (a pending request past its deadline expires instead). */
  reject(id: string, userId: string, now: number, note?: string): Promise<TransitionResult>;
  /** pending → cancelled; the caller checks that `userId` is the requester (it never changes). */
  cancel(id: string, userId: string, now: number): Promise<TransitionResult>;
  /** pending → expired, only once its deadline has passed ('expired'; else 'not_due' or 'status'). */
  expire(id: string, now: number): Promise<TransitionResult>;
  /** pending → failed when the card could not even be posted. */
  failToPost(id: string, now: number, outcome: string): Promise<TransitionResult>;

  /** approved → executed, with the app's lifecycle change (live remove) in the same step. */
  markExecuted(id: string, now: number, fields: { mode: 'dry-run' | 'live'; outcome: string }, app?: { appId: string; change: AppChange }): Promise<TransitionResult>;
  /**
   * Records on an `approved` request that its execution waits for Zoom's Daily-limit pause to end
   * (shown on the card). False when the request is no longer approved.
   */
  notePause(id: string, until: number): Promise<boolean>;
  /** approved → awaiting_operator (disable/enable, or a remove Zoom refused), open until OPERATOR_STEP_TTL_MS from now. */
  awaitOperator(id: string, now: number, fields: { mode: 'dry-run' | 'live'; outcome: string }): Promise<TransitionResult>;
  /** awaiting_operator → cancelled by `userId` (the caller checks they are the requester or an approver). */
  cancelOperatorStep(id: string, userId: string, now: number): Promise<TransitionResult>;
  /** awaiting_operator → expired (the caller checks that the step's deadline has passed). */
  expireOperatorStep(id: string, now: number): Promise<TransitionResult>;
  /** approved | awaiting_operator → aborted: the re-check found the app changed. */
  abort(id: string, now: number, outcome: string): Promise<TransitionResult>;
  /** approved | awaiting_operator → failed, with the sentence for the card. */
  fail(id: string, now: number, outcome: string): Promise<TransitionResult>;
  /** awaiting_operator → executed, recording who did the Marketplace step, with the app change. */
  operatorDone(id: string, userId: string, now: number, app: { appId: string; change: AppChange }): Promise<TransitionResult>;
  /** The id of the open (pending, approved or awaiting operator) request of this app and action, if any. */
  openFor(appId: string, action: string): Promise<string | undefined>;
}

type ScriptReply = string[];

export function createRequestStore(redis: Redis, keys: Keys): RequestStore {
  const reqKey = (id: string) => keys.k('request', id);
  const pendingKey = keys.k('requests', 'pending');
  const openKey = keys.k('requests', 'open');
  const lockPrefix = `${keys.k('reqlock')}:`;
  const lockKey = (appId: string, action: string) => `${lockPrefix}${appId}:${action}`;
  const appKey = (appId: string) => keys.k('app', appId);

  const parse = (reply: ScriptReply): { code: string; request: StoredRequest | null } => ({
    code: reply[0] ?? 'unknown',
    request: reply.length > 1 ? fromFlat(reply.slice(1)) : null,
  });

  async function transition(
    id: string,
    from: RequestStatus[],
    to: RequestStatus,
    now: number,
    fields: Record<string, unknown>,
    opts: { expiryGuard?: 'guard' | 'expire_only'; app?: { appId: string; change: AppChange } } = {},
  ): Promise<TransitionResult> {
    const appPairs = opts.app ? toPairs(opts.app.change.fields) : [];
    const reply = (await redis.eval(
      TRANSITION_LUA,
      4,
      reqKey(id),
      pendingKey,
      openKey,
      opts.app ? appKey(opts.app.appId) : appKey('-'),
      from.join(' '),
      to,
      String(now),
      opts.expiryGuard === 'guard' ? '1' : opts.expiryGuard === 'expire_only' ? '2' : '0',
      lockPrefix,
      opts.app ? opts.app.change.from : '',
      opts.app ? opts.app.change.to : '',
      String(appPairs.length / 2),
      ...appPairs,
      ...toPairs(fields),
    )) as ScriptReply;
    const { code, request } = parse(reply);
    // Any move out of a state changes the open-request counts status shows.
    if (code === 'ok' || code === 'expired') await bumpStatusEpoch(redis, keys);
    return { outcome: code as TransitionOutcome, request };
  }

  return {
    async open(req) {
      const full: StoredRequest = { ...req, status: 'pending', signatures: [] };
      const reply = (await redis.eval(
        OPEN_LUA,
        4,
        lockKey(req.appId, req.action),
        reqKey(req.id),
        pendingKey,
        openKey,
        req.id,
        String(req.expiresAt),
        `${keys.k('request')}:`,
        ...toPairs(full as unknown as Record<string, unknown>),
      )) as ScriptReply;
      if (reply[0] === 'exists') return { ok: false, existingId: reply[1] ?? '' };
      await bumpStatusEpoch(redis, keys);
      return { ok: true, request: full };
    },

    async openFor(appId, action) {
      const holder = await redis.get(lockKey(appId, action));
      if (!holder) return undefined;
      const status = await redis.hget(reqKey(holder), 'status');
      return status && (OPEN_STATUSES as readonly string[]).includes(status) ? holder : undefined;
    },
    async get(id) {
      return fromHash(await redis.hgetall(reqKey(id)));
    },

    async listOpen() {
      const ids = await redis.smembers(openKey);
      if (ids.length === 0) return [];
      const pipe = redis.pipeline();
      for (const id of ids) pipe.hgetall(reqKey(id));
      const rows = (await pipe.exec()) ?? [];
      return rows
        .map(([, h]) => fromHash((h ?? {}) as Record<string, string>))
        .filter((r): r is StoredRequest => r !== null)
        .sort((a, b) => a.createdAt - b.createdAt);
    },

    async dueForExpiry(now, limit = 200) {
      return redis.zrangebyscore(pendingKey, '-inf', String(now), 'LIMIT', 0, limit);
    },

    async setCard(id, channel, ts) {
      // Only an existing request gets a card location (HSET on a missing key would create one).
      await redis.eval(`if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'channel', ARGV[1], 'ts', ARGV[2]) end return 1`, 1, reqKey(id), channel, ts);
    },

    async notePause(id, until) {
      const set = await redis.eval(
        `if redis.call('HGET', KEYS[1], 'status') ~= 'approved' then return 0 end redis.call('HSET', KEYS[1], 'pausedUntil', ARGV[1]) return 1`,
        1,
        reqKey(id),
        String(until),
      );
      return set === 1;
    },

    async sign(id, userId, now) {
      const reply = (await redis.eval(SIGN_LUA, 3, reqKey(id), pendingKey, openKey, userId, String(now), lockPrefix)) as ScriptReply;
      const { code, request } = parse(reply);
      // A signature changes what the Home tab shows (who still has to sign); approval and expiry
      // also close the request.
      if (code === 'approved' || code === 'expired') await bumpStatusEpoch(redis, keys);
      else if (code === 'signed') await bumpSignatureEpoch(redis, keys);
      return { outcome: code as SignOutcome, request };
    },

    reject: (id, userId, now, note) =>
      transition(id, ['pending'], 'rejected', now, { decidedAt: now, decidedBy: userId, outcome: note ?? `Rejected by <@${userId}>.` }, { expiryGuard: 'guard' }),

    cancel: (id, userId, now) =>
      transition(id, ['pending'], 'cancelled', now, { decidedAt: now, decidedBy: userId, outcome: 'Cancelled by the requester.' }, { expiryGuard: 'guard' }),

    expire: (id, now) => transition(id, ['pending'], 'expired', now, {}, { expiryGuard: 'expire_only' }),

    failToPost: (id, now, outcome) => transition(id, ['pending'], 'failed', now, { decidedAt: now, decidedBy: 'system', outcome }),

    markExecuted: (id, now, fields, app) =>
      transition(id, ['approved'], 'executed', now, { ...fields, executedAt: now }, app ? { app } : {}),

    awaitOperator: (id, now, fields) => transition(id, ['approved'], 'awaiting_operator', now, { ...fields, operatorDeadline: now + OPERATOR_STEP_TTL_MS }),

    cancelOperatorStep: (id, userId, now) =>
      transition(id, ['awaiting_operator'], 'cancelled', now, {
        decidedBy: userId,
        endedAt: now,
        outcome: `Cancelled by <@${userId}> at the Marketplace step; nothing was recorded on the app.`,
      }),

    expireOperatorStep: (id, now) =>
      transition(id, ['awaiting_operator'], 'expired', now, {
        decidedBy: 'system',
        endedAt: now,
        outcome: 'Nobody pressed Done before the deadline, so the request expired and nothing was recorded on the app. If the Marketplace step was done, open a new request.',
      }),

    abort: (id, now, outcome) => transition(id, ['approved', 'awaiting_operator'], 'aborted', now, { outcome, endedAt: now }),

    fail: (id, now, outcome) => transition(id, ['approved', 'awaiting_operator'], 'failed', now, { outcome, endedAt: now }),

    operatorDone: (id, userId, now, app) =>
      transition(id, ['awaiting_operator'], 'executed', now, { operatorDoneBy: userId, operatorDoneAt: now, executedAt: now }, { app }),
  };
}
