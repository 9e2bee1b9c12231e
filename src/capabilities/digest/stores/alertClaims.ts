/**
 * Alert claims, `{p}:alert:<kind>:<…>`: one key per alerted event (app + disabledAt, app +
 * family, account + failingSince…), set only if absent, so an event is posted once by whichever
 * runner claims it first. A claim whose post failed is released, so the next check tries again.
 */
import type { Redis } from 'ioredis';
import type { Keys } from '../../../platform/redis/keys';

export interface AlertClaims {
  /** The claim key of one event. */
  key(...parts: Array<string | number>): string;
  /** Claims the event at `now` for `ttlMs` (`SET NX`); false when it was claimed already. */
  claim(key: string, now: number, ttlMs: number): Promise<boolean>;
  /** Drops claims whose post failed. */
  release(...keys: string[]): Promise<void>;
}

export function createAlertClaims(redis: Redis, keys: Keys): AlertClaims {
  return {
    key: (...parts) => keys.k('alert', ...parts),
    async claim(key, now, ttlMs) {
      return (await redis.set(key, String(now), 'PX', ttlMs, 'NX')) === 'OK';
    },
    async release(...claimed) {
      await redis.del(...claimed);
    },
  };
}
