/**
 * Short Redis leases: one holder at a time for a named resource, across every process of an
 * install. A lease is a key set only if free, with a random token and a time to live, so a holder
 * that dies frees it by itself; it is released only by the holder that set it (compare-and-delete).
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Keys } from './keys';

// KEYS[1] lease; ARGV[1] token. Deletes only a lease this holder still has.
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/** Raised when a lease could not be had within the wait. */
export class LeaseBusyError extends Error {
  readonly code = 'lease_busy';
  constructor(readonly key: string) {
    super(`${key} is held by another step`);
    this.name = 'LeaseBusyError';
  }
}

export interface LeaseOptions {
  /** The lease lives this long without its holder (ms): longer than the work it guards. */
  ttlMs: number;
  /** How long to wait for a busy lease before LeaseBusyError (ms). */
  waitMs: number;
  /** Pause between attempts (ms). */
  retryMs?: number;
}

/** Runs `work` while holding the lease at `key`; releases it afterwards, whatever happened. */
export async function withLease<T>(redis: Redis, key: string, opts: LeaseOptions, work: () => Promise<T>): Promise<T> {
  const token = randomBytes(12).toString('hex');
  const deadline = Date.now() + opts.waitMs;
  for (;;) {
    const set = await redis.set(key, token, 'PX', opts.ttlMs, 'NX');
    if (set === 'OK') break;
    if (Date.now() >= deadline) throw new LeaseBusyError(key);
    await new Promise((r) => setTimeout(r, opts.retryMs ?? 50));
  }
  try {
    return await work();
  } finally {
    // A release lost to a Redis blip leaves the lease to expire by its TTL.
    await redis.eval(RELEASE, 1, key, token).catch(() => undefined);
  }
}

/**
 * One destructive step per app at a time (issue: a removal never races an enable's Done): the
 * execution re-check, Zoom's DELETE and its recording, and every Done, hold the app's lease.
 */
export const appLeaseKey = (keys: Keys, appId: string): string => keys.k('lease', 'app', appId);
/** Longer than a re-check, a DELETE with its client timeout, and the recording after it. */
export const APP_LEASE_TTL_MS = 120_000;
