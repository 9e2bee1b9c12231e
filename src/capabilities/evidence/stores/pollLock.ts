/**
 * The per-account poll lock, `{p}:pollrun:<account>`: at most one poll of an account runs at a
 * time, whatever the number of workers (jobs/pollJob.ts). A key set only if free, with a random
 * token and a time to live, so a worker that dies frees it by itself; the running poll's heartbeat
 * renews it and only its holder releases it (compare-and-delete, platform/redis/lease.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Keys } from '../../../platform/redis/keys';
import { acquireIfFree, RELEASE_IF_HELD, RENEW_IF_HELD } from '../../../platform/redis/lease';

/** The lock lives this long without a heartbeat (ms): a crashed worker frees it within a minute. */
export const POLL_LOCK_TTL_MS = 60_000;

interface Deps {
  redis: Redis;
  keys: Keys;
}

function lockKey(deps: Pick<Deps, 'keys'>, account: string): string {
  return deps.keys.k('pollrun', account);
}

/** Whether a poll of the account is running right now (any process). */
export async function isPollRunning(deps: Deps, account: string): Promise<boolean> {
  return (await deps.redis.exists(lockKey(deps, account))) === 1;
}

/** Takes the account's poll lock; returns its token, or null when another poll holds it. */
export async function acquirePollLock(deps: Deps, account: string): Promise<string | null> {
  const token = randomUUID();
  return (await acquireIfFree(deps.redis, lockKey(deps, account), token, POLL_LOCK_TTL_MS)) ? token : null;
}

/** The heartbeat: gives the lock its full time to live again, while this holder still has it. */
export async function renewPollLock(deps: Deps, account: string, token: string): Promise<void> {
  await deps.redis.eval(RENEW_IF_HELD, 1, lockKey(deps, account), token, POLL_LOCK_TTL_MS);
}

/** Frees the lock, while this holder still has it. Throws when Redis is away (the caller retries). */
export async function releasePollLock(deps: Deps, account: string, token: string): Promise<void> {
  await deps.redis.eval(RELEASE_IF_HELD, 1, lockKey(deps, account), token);
}
