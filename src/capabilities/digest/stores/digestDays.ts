/**
 * The digest's day records, one hash `{p}:digest-day:<date>` per local date: the claim that makes
 * one runner the poster of the day (`posting`, with its token), then the posted message (`posted`:
 * channel, ts, and the headline counts the next day's digest compares with). The job
 * (jobs/digest.ts) decides when to claim, release and record; every transition of a claim is one
 * Lua compare-and-set here, so any number of runners see one order of events.
 */
import type { Redis } from 'ioredis';
import type { Keys } from '../../../platform/redis/keys';

// KEYS[1] day hash. ARGV[1] token, ARGV[2] now (ms), ARGV[3] posting ttl (ms).
// Returns {'claimed'} | {'posted', channel, ts} | {'posting', claimedAt}.
const CLAIM = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then
  redis.call('HSET', KEYS[1], 'state', 'posting', 'token', ARGV[1], 'claimedAt', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {'claimed'}
end
if state == 'posted' then
  local v = redis.call('HMGET', KEYS[1], 'channel', 'ts')
  return {'posted', v[1], v[2]}
end
return {'posting', redis.call('HGET', KEYS[1], 'claimedAt') or ''}`;

// KEYS[1] day hash. ARGV[1] token, ARGV[2] channel, ARGV[3] ts, ARGV[4] now, ARGV[5] counts json,
// ARGV[6] retention (ms). Stores the posted message if the claim is still ours; returns 1 or 0.
const STORE = `
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'posted', 'channel', ARGV[2], 'ts', ARGV[3], 'postedAt', ARGV[4], 'counts', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return 1`;

// KEYS[1] day hash. ARGV[1] token. Drops a `posting` claim that is ours (the post surely failed).
const RELEASE = `
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] and redis.call('HGET', KEYS[1], 'state') == 'posting' then
  return redis.call('DEL', KEYS[1])
end
return 0`;

/** `{p}:digest-day:<date>`: not `digest:`, which is the BullMQ queue's namespace. */
export const dayKey = (keys: Keys, date: string) => keys.k('digest-day', date);

/**
 * What a claim found: the day is now ours to post; or it was posted (channel and ts as stored,
 * either missing on a damaged record); or another runner is posting it.
 */
export type DayClaim =
  | { state: 'claimed' }
  | { state: 'posted'; channel: string | undefined; ts: string | undefined }
  | { state: 'posting'; claimedAt: string };

export interface PostedMessage {
  channel: string;
  ts: string;
  /** The headline counts as JSON, for the next day's "since yesterday". */
  counts: string;
}

export interface DigestDayStore {
  /** Claims `date` with `token` for `postingTtlMs` when nobody has it, else says who does. */
  claim(date: string, token: string, now: number, postingTtlMs: number): Promise<DayClaim>;
  /** Drops our `posting` claim (the post failed), so the next attempt posts. */
  release(date: string, token: string): Promise<void>;
  /** Records the posted message, kept `retentionMs`; false when the claim was no longer ours. */
  record(date: string, token: string, posted: PostedMessage, now: number, retentionMs: number): Promise<boolean>;
  /** Forgets the day (its message is gone), so it is claimed and posted anew. */
  forget(date: string): Promise<void>;
  /** The posted day's message was edited: its counts as of now. */
  updated(date: string, counts: string, now: number): Promise<void>;
  /** The counts JSON a posted day stored, or null. */
  counts(date: string): Promise<string | null>;
}

export function createDigestDayStore(redis: Redis, keys: Keys): DigestDayStore {
  const key = (date: string) => dayKey(keys, date);
  return {
    async claim(date, token, now, postingTtlMs) {
      const claim = (await redis.eval(CLAIM, 1, key(date), token, String(now), String(postingTtlMs))) as Array<string | null>;
      if (claim[0] === 'claimed') return { state: 'claimed' };
      if (claim[0] === 'posted') return { state: 'posted', channel: claim[1] ?? undefined, ts: claim[2] ?? undefined };
      return { state: 'posting', claimedAt: claim[1] ?? '' };
    },
    async release(date, token) {
      await redis.eval(RELEASE, 1, key(date), token);
    },
    async record(date, token, posted, now, retentionMs) {
      const stored = await redis.eval(STORE, 1, key(date), token, posted.channel, posted.ts, String(now), posted.counts, String(retentionMs));
      return stored === 1;
    },
    async forget(date) {
      await redis.del(key(date));
    },
    async updated(date, counts, now) {
      await redis.hset(key(date), 'counts', counts, 'updatedAt', String(now));
    },
    counts: (date) => redis.hget(key(date), 'counts'),
  };
}
