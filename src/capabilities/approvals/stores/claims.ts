/**
 * Once-only claims around a request, each a hash per request whose fields are claimed with HSETNX:
 *
 *  - `{p}:notified:<id>`  the requester's DMs, by step (`once`)
 *  - `{p}:reminded:<id>`  the reminder moments (`half`, `hour`)
 *  - `{p}:announced:<id>` the thread announcements, by status
 *
 * A message is claimed before it is sent: of "maybe twice" and "maybe never" after a crash, the
 * claim picks never. Kept as long as a finished request's hash: only re-runs of its steps read them.
 */
import type { Redis } from 'ioredis';
import type { Keys } from '../../../platform/redis/keys';
import { FINISHED_REQUEST_TTL_MS } from './requests';

export type ClaimKind = 'notified' | 'reminded' | 'announced';

export interface ClaimStore {
  /**
   * Claims `field` in the request's `kind` hash at `now` (one MULTI: HSETNX, then PEXPIRE). True
   * for the one caller that got it, false when someone had; undefined when the reply says neither
   * (no reply, or an error in it), and the caller decides what that means.
   */
  claim(kind: ClaimKind, requestId: string, field: string, now: number): Promise<boolean | undefined>;
}

export function createClaimStore(redis: Redis, keys: Keys): ClaimStore {
  return {
    async claim(kind, requestId, field, now) {
      const key = keys.k(kind, requestId);
      const [[, claimed] = []] = (await redis.multi().hsetnx(key, field, String(now)).pexpire(key, FINISHED_REQUEST_TTL_MS).exec()) ?? [];
      if (claimed === 1) return true;
      if (claimed === 0) return false;
      return undefined;
    },
  };
}
