/**
 * The audit log's hash chain, without Redis: the entry types, how an entry is hashed, and the
 * checks a verification walk makes of each entry. The store (stores/audit.ts) chains with it;
 * anything that checks an export offline can use it alone.
 *
 * Each entry records how it was chained (`chain`):
 *
 *   sha256       hash = sha256(prev + '\n' + canonicalJson(entry without id and hash))
 *   hmac-sha256  hash = hmac-sha256(AUDIT_KEY, same text); the entry also names the key's id
 *   (absent)     entries written before `chain` existed: sha256, with `chain` not in the text
 *
 * `prev` is the previous entry's hash (GENESIS_HASH, 64 zeros, for the first entry). Editing a
 * field breaks that entry's hash; removing an entry breaks the next entry's `prev`.
 */
import { createHash, createHmac } from 'node:crypto';

export const AUDIT_TYPES = [
  'app.tracked',
  'app.untracked',
  'app.owner',
  'app.migrated',
  'app.gone',
  'request.opened',
  'request.refused',
  'access.refused',
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

/** How an entry's hash was made; entries from before this field existed have none (sha256). */
export type ChainKind = 'sha256' | 'hmac-sha256';

export interface AuditEntry extends AuditInput {
  /** Stream id, `<ms>-<seq>`. */
  id: string;
  /** Epoch ms from the injected clock when the entry was appended. */
  at: number;
  prev: string;
  hash: string;
  chain?: ChainKind;
  /** hmac-sha256 entries: the id of the key (auditKeyId), never the key. */
  keyId?: string;
}

export interface VerifyResult {
  /** True only when the chain is intact and every witness and expectation agrees with it. */
  ok: boolean;
  /** Entries verified (up to the first bad one). */
  count: number;
  /** The hash of the last verified entry, when there is one. */
  head?: string;
  firstBadId?: string;
  reason?: string;
  /**
   * Set when nothing could be checked, rather than a broken chain: no install under this prefix,
   * or keyed entries and no AUDIT_KEY (or another key) to check them with. `ok` is false.
   */
  unverifiable?: boolean;
  /** Things worth saying about an intact log (e.g. unkeyed entries before the switch). */
  notes?: string[];
}

/** What the daily digest printed (or an auditor noted down): the chain must still reach it. */
export interface VerifyExpectation {
  /** A prefix of an entry's hash (at least 8 hex digits); with `count`, of the count-th entry's. */
  head?: string;
  /** The log held at least this many entries. */
  count?: number;
}

export type AuditErrorCode =
  | 'audit_invalid'
  | 'audit_contended'
  | 'audit_head_missing'
  | 'audit_dedupe_dangling'
  /** The chain is keyed and this process has no AUDIT_KEY, or another one. */
  | 'audit_key_required';

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

/** AUDIT_KEY's minimum length (characters). */
export const AUDIT_KEY_MIN_LENGTH = 32;

/**
 * A short public id of an audit key (16 hex digits of an HMAC under it): stored with keyed
 * entries so a verify with the wrong key says so. It does not reveal the key.
 */
export function auditKeyId(key: string): string {
  return createHmac('sha256', key).update('zoomjwt audit key id').digest('hex').slice(0, 16);
}

/**
 * The hash of an entry; exported so tools (and tests) can check an export offline. A keyed
 * (`hmac-sha256`) entry needs the key; `chain` and `keyId` are part of the hashed text when set,
 * so an entry cannot be relabelled as unkeyed without breaking its hash.
 */
export function entryHash(entry: Omit<AuditEntry, 'id' | 'hash'>, key?: string): string {
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
    chain: entry.chain,
    keyId: entry.keyId,
  };
  const text = `${entry.prev}\n${canonicalJson(body)}`;
  if (entry.chain === 'hmac-sha256') {
    if (key === undefined) throw new AuditError('audit_key_required', 'a keyed audit entry needs AUDIT_KEY to hash');
    return createHmac('sha256', key).update(text).digest('hex');
  }
  return createHash('sha256').update(text).digest('hex');
}

const TYPE_SET: ReadonlySet<string> = new Set(AUDIT_TYPES);

/** An input as it is chained: a known type and a summary are required, `details` is plain JSON. */
export function normalise(input: AuditInput): Omit<AuditInput, 'details'> & { details?: AuditDetails } {
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

/** The link and the shape of an entry: checkable without any key. */
export function checkLink(entry: AuditEntry, expectedPrev: string): string | undefined {
  if (entry.prev !== expectedPrev) {
    return expectedPrev === GENESIS_HASH && entry.prev !== ''
      ? 'the first entry does not start the chain (entries before it were removed)'
      : 'its prev does not match the hash of the entry before it (an entry was removed or altered before it)';
  }
  if (!TYPE_SET.has(entry.type) || !Number.isFinite(entry.at)) return 'the entry is malformed (fields were altered)';
  if (entry.chain !== undefined && entry.chain !== 'sha256' && entry.chain !== 'hmac-sha256') {
    return `the entry names an unknown chain "${String(entry.chain).slice(0, 20)}" (fields were altered)`;
  }
  return undefined;
}

/** The hash of an entry whose chain this log can check (keyed entries: under `key`, AUDIT_KEY). */
export function checkHash(entry: AuditEntry, key?: string): string | undefined {
  const { id: _id, hash, ...rest } = entry;
  if (entry.chain === 'hmac-sha256') {
    if (entryHash(rest, key) !== hash) return 'its HMAC does not match its contents (edited, or rewritten without AUDIT_KEY)';
    return undefined;
  }
  if (entryHash(rest) !== hash) return 'its hash does not match its contents (a field was edited)';
  return undefined;
}
