/** Waiting in tests: one `until` for every condition a test waits for, and the app's own polls. */
import { isPollRunning } from '../../src/capabilities/evidence/stores/pollLock';
import { pollDedupId } from '../../src/capabilities/evidence/jobs/pollJob';
import type { Booted } from './boot';

/** A pause of `ms`. To wait for something to happen, use `until`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface UntilOptions {
  /** How long to keep asking, in ms; 10 s unless told. */
  timeoutMs?: number;
  /** The pause between two asks, in ms; 25 unless told. */
  everyMs?: number;
  /** A probe that throws has not succeeded yet (a process still starting refuses connections), instead of failing the wait. */
  errorsMeanNotYet?: boolean;
}

/**
 * Resolves with the first truthy value of `probe`, or fails naming `what` once the time is up.
 * A number for `options` is the timeout alone.
 */
export async function until<T>(
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  what: string,
  options: number | UntilOptions = {},
): Promise<T> {
  const { timeoutMs = 10_000, everyMs = 25, errorsMeanNotYet = false } = typeof options === 'number' ? { timeoutMs: options } : options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let value: T | undefined | null | false;
    try {
      value = await probe();
    } catch (err) {
      if (!errorsMeanNotYet) throw err;
      value = undefined;
    }
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Waits until a poll that started after `since` has recorded its outcome and let go of its lock. */
export async function pollSettled(app: Booted, since: number): Promise<void> {
  const s = app.running.services;
  await until(async () => {
    const h = await s.health.get('default');
    const settled = Math.max(h.lastSuccess ?? 0, h.lastErrorAt ?? 0);
    if (!(h.lastStart !== undefined && h.lastStart >= since && settled >= h.lastStart)) return false;
    if (await isPollRunning(s, 'default')) return false;
    return (await s.queues.poll.getDeduplicationJobId(pollDedupId('default'))) === null;
  }, 'the poll to finish', { timeoutMs: 15_000, everyMs: 50 });
}
