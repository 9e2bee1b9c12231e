/**
 * The Daily-limit pause of a Zoom account, `{p}:zoompause:<account>` → when it ends (epoch ms),
 * expiring then. While it is set, the client sends nothing for the account (client.ts).
 */
import type { Redis } from 'ioredis';
import type { Keys } from '../../redis/keys';
import { withStatusBump } from '../../redis/statusEpoch';

export function pauseKey(keys: Keys, account: string): string {
  return keys.k('zoompause', account);
}

/**
 * When the account's Daily-limit pause ends (epoch ms), or null when it is not paused.
 * With `now`, a pause that ended by then also reads as null (injected clocks run ahead of Redis).
 */
export async function getPause(redis: Redis, keys: Keys, account: string, now?: number): Promise<number | null> {
  const raw = await redis.get(pauseKey(keys, account));
  if (raw === null) return null;
  const until = Number(raw);
  if (!Number.isFinite(until)) return null;
  return now !== undefined && until <= now ? null : until;
}

/** Pauses the account from `now` until `until`; status shows the pause, so the epoch moves with it. */
export async function setPause(redis: Redis, keys: Keys, account: string, until: number, now: number): Promise<void> {
  await withStatusBump(redis.multi().set(pauseKey(keys, account), String(until), 'PX', Math.max(1, until - now)), keys).exec();
}
