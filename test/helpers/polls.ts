/** Waiting for the app's own polls in integration tests. */
import { isPollRunning, pollDedupId } from '../../src/capabilities/evidence/jobs/pollJob';
import type { Booted } from './boot';

/** Resolves with the first truthy value of `check`, polled every 50 ms, or fails naming `what`. */
export async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until a poll that started after `since` has recorded its outcome and let go of its lock. */
export async function pollSettled(app: Booted, since: number): Promise<void> {
  const s = app.running.services;
  await until('the poll to finish', async () => {
    const h = await s.health.get('default');
    const settled = Math.max(h.lastSuccess ?? 0, h.lastErrorAt ?? 0);
    if (!(h.lastStart !== undefined && h.lastStart >= since && settled >= h.lastStart)) return false;
    if (await isPollRunning(s, 'default')) return false;
    return (await s.queues.poll.getDeduplicationJobId(pollDedupId('default'))) === null;
  });
}
