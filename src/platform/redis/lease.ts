/**
 * Short Redis leases: one holder at a time for a named resource, across every process of an
 * install. A lease is a key set only if free, with a random token and a time to live, so a holder
 * that dies frees it by itself; it is released only by the holder that set it (compare-and-delete).
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Keys } from './keys';

/** KEYS[1] lock or lease; ARGV[1] token. Deletes it only while this holder still has it. */
export const RELEASE_IF_HELD = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
/** KEYS[1] lock or lease; ARGV[1] token; ARGV[2] ttl ms. Extends it only while this holder still has it. */
export const RENEW_IF_HELD = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;

/** Sets `key` to `token` for `ttlMs` only if it is free: true for the one caller that got it. */
export async function acquireIfFree(redis: Redis, key: string, token: string, ttlMs: number): Promise<boolean> {
  return (await redis.set(key, token, 'PX', ttlMs, 'NX')) === 'OK';
}

/** Raised when a lease could not be had within the wait. */
export class LeaseBusyError extends Error {
  readonly code = 'lease_busy';
  constructor(readonly key: string) {
    super(`${key} is held by another step`);
    this.name = 'LeaseBusyError';
  }
}

export interface LeaseOptions {
  /**
   * The lease lives this long without a heartbeat from its holder (ms), which renews it every
   * third of that while the work runs: a holder that dies frees it within this time.
   */
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
    if (await acquireIfFree(redis, key, token, opts.ttlMs)) break;
    if (Date.now() >= deadline) throw new LeaseBusyError(key);
    await new Promise((r) => setTimeout(r, opts.retryMs ?? 50));
  }
  const heartbeat = setInterval(() => {
    void redis.eval(RENEW_IF_HELD, 1, key, token, String(opts.ttlMs)).catch(() => undefined);
  }, Math.max(100, Math.floor(opts.ttlMs / 3)));
  heartbeat.unref();
  try {
    return await work();
  } finally {
    clearInterval(heartbeat);
    // A release lost to a Redis blip leaves the lease to expire by its TTL.
    await redis.eval(RELEASE_IF_HELD, 1, key, token).catch(() => undefined);
  }
}

/**
 * One destructive step per app at a time (issue: a removal never races an enable's Done): the
 * execution re-check, Zoom's DELETE and its recording, and every Done, hold the app's lease.
 */
export const appLeaseKey = (keys: Keys, appId: string): string => keys.k('lease', 'app', appId);
/**
 * Renewed while its step runs (however long a DELETE takes), so it only has to outlive a crashed
 * holder briefly: a worker killed mid-removal frees the app within 15 s, well before BullMQ hands
 * the stalled job to another worker.
 */
export const APP_LEASE_TTL_MS = 15_000;
