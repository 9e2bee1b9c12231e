/**
 * The status epoch: one counter that every write changing what `/zoomjwt status` shows bumps
 * (apps, poll health, Daily-limit pauses, open requests, Slack problems). A process keeps the
 * status it built last together with the epoch it read *before* reading the data, and answers
 * from it while the epoch is unchanged; a write in any process moves the epoch, so the next
 * status anywhere is rebuilt. A bump made after its write can only make a cache look older than
 * it is, never newer, so the worst a lost bump (a crash between write and bump) costs is an
 * answer as old as the cache's age limit.
 */
import type { ChainableCommander, Redis } from 'ioredis';
import type { Keys } from './keys';

export const statusEpochKey = (keys: Keys): string => keys.k('status', 'epoch');

/** Bumps the epoch on its own (writes that are not a MULTI or pipeline). */
export async function bumpStatusEpoch(redis: Redis, keys: Keys): Promise<void> {
  await redis.incr(statusEpochKey(keys));
}

/** Adds the bump to a MULTI or pipeline, so it lands with the write it follows. */
export function withStatusBump<T extends ChainableCommander>(chain: T, keys: Keys): T {
  chain.incr(statusEpochKey(keys));
  return chain;
}

/** The current epoch ("0" before any write). */
export async function readStatusEpoch(redis: Redis, keys: Keys): Promise<string> {
  return (await redis.get(statusEpochKey(keys))) ?? '0';
}

/**
 * The signature epoch: bumped by a signature that does not decide a request. Status shows no
 * signatures (it must not rebuild for each one, under a crowd of clicks); the Home tab does (who
 * still has to sign), so it refreshes on either epoch.
 */
export const signatureEpochKey = (keys: Keys): string => keys.k('status', 'signatures');

export async function bumpSignatureEpoch(redis: Redis, keys: Keys): Promise<void> {
  await redis.incr(signatureEpochKey(keys));
}

/** What the Home tab shows changed when this changes: both epochs ("0:0" before any write). */
export async function readDashboardEpoch(redis: Redis, keys: Keys): Promise<string> {
  const [status, signatures] = await redis.mget(statusEpochKey(keys), signatureEpochKey(keys));
  return `${status ?? '0'}:${signatures ?? '0'}`;
}
