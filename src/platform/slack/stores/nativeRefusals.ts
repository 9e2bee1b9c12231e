/**
 * Installs that refuse Slack's native charts and tables: `{p}:native-refused:<team id>` is set
 * when one answered `invalid_blocks` (native.ts), so later messages go straight to the fallback.
 */
import type { Redis } from 'ioredis';
import type { Keys } from '../../redis/keys';

export interface NativeSupport {
  /** True once this install refused native blocks. */
  refused(): Promise<boolean>;
  markRefused(): Promise<void>;
}

/** Remembered per install (workspace id); kept 30 days, so a workspace that gains them is tried again. */
const REFUSAL_TTL_MS = 30 * 86_400_000;

export function createNativeSupport(redis: Redis, keys: Keys, teamId: () => string): NativeSupport {
  const key = () => keys.k('native-refused', teamId() || 'unknown');
  return {
    async refused() {
      return (await redis.exists(key())) === 1;
    },
    async markRefused() {
      await redis.set(key(), String(Date.now()), 'PX', REFUSAL_TTL_MS);
    },
  };
}
