/**
 * The shared Zoom access token of an account and the lock of its fetch (token.ts says why one
 * token is shared by every process):
 *  - `{p}:zoomtoken:<account>` hash: `token`, `refreshAt` (epoch ms), `apiUrl` (may be empty),
 *    expiring with the token;
 *  - `{p}:zoomtokenlock:<account>` → the random value of the process fetching a token now.
 */
import type { Redis } from 'ioredis';
import type { Keys } from '../../redis/keys';
import { acquireIfFree, RELEASE_IF_HELD } from '../../redis/lease';

const COMPARE_AND_DELETE_FIELD = `
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export function tokenKey(keys: Keys, account: string): string {
  return keys.k('zoomtoken', account);
}

export interface CachedToken {
  token: string;
  refreshAt: number;
  /** Empty when the token answer named no usable API base. */
  apiUrl: string;
}

export interface TokenStore {
  /** The cached token, or null when there is none (or it lacks its refresh time). */
  read(): Promise<CachedToken | null>;
  /** Caches `token` for `lifetimeMs`. */
  write(token: string, refreshAt: number, apiUrl: string, lifetimeMs: number): Promise<void>;
  /** Drops the cached token if it is still `token`; true when it was. */
  dropIf(token: string): Promise<boolean>;
  /** Takes the fetch lock with `value` for `ttlMs` (`SET NX PX`); false when another holds it. */
  lock(value: string, ttlMs: number): Promise<boolean>;
  /** Frees the fetch lock if it is still ours. */
  unlock(value: string): Promise<void>;
}

export function createTokenStore(redis: Redis, keys: Keys, account: string): TokenStore {
  const key = tokenKey(keys, account);
  const lockKey = keys.k('zoomtokenlock', account);
  return {
    async read() {
      const [token, refreshAt, apiUrl] = await redis.hmget(key, 'token', 'refreshAt', 'apiUrl');
      if (!token || !refreshAt) return null;
      return { token, refreshAt: Number(refreshAt), apiUrl: apiUrl ?? '' };
    },
    async write(token, refreshAt, apiUrl, lifetimeMs) {
      await redis.multi().hset(key, 'token', token, 'refreshAt', String(refreshAt), 'apiUrl', apiUrl).pexpire(key, lifetimeMs).exec();
    },
    async dropIf(token) {
      return (await redis.eval(COMPARE_AND_DELETE_FIELD, 1, key, token)) === 1;
    },
    async lock(value, ttlMs) {
      return acquireIfFree(redis, lockKey, value, ttlMs);
    },
    async unlock(value) {
      await redis.eval(RELEASE_IF_HELD, 1, lockKey, value);
    },
  };
}
