/**
 * The poll job (SPEC §4.3): BullMQ job `poll` on queue `poll`, data `{ account }` (a name, never
 * a credential), scheduled per account every POLL_EVERY and enqueued by `/zoomjwt poll`.
 *
 * At most one poll per account runs at a time, whatever the number of workers:
 *  - `/zoomjwt poll` enqueues with a deduplication id per account, so a burst of requests
 *    collapses into the one job already waiting or running;
 *  - the processor takes a per-account Redis lock (heartbeat-renewed); a scheduled run that meets
 *    a manual one still running returns "busy" without calling Zoom. The per-app read locks of
 *    pollApp stay as the last line of defence.
 */
import type { Job } from 'bullmq';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../../log';
import type { EvidenceServices as Services } from '../services';
import { READ_LOCK_TTL_MS } from '../stores/usageIngest';
import { type UsageStore } from '../stores/usage';
import { pollAccount, type PollAccountResult } from './pollAccount';
import { acquirePollLock, isPollRunning, POLL_LOCK_TTL_MS, releasePollLock, renewPollLock } from '../stores/pollLock';
import type { Processor } from '../../../platform/queue/queues';

export const POLL_JOB = 'poll';
export interface PollJobData {
  account: string;
}

/** Scheduler id of an account's periodic poll. */
export const pollSchedulerId = (account: string) => `poll:${account}`;
/** Deduplication id of an on-demand poll (BullMQ job ids may not hold ':'). */
export const pollDedupId = (account: string) => `poll-now-${account}`;

const LOCK_RENEW_MS = 20_000;


/** How long to wait between attempts at a lock release that failed because Redis was away (ms). */
const RELEASE_RETRY_MS = 1_000;

/**
 * Releases a lock, trying again while Redis is away, until `giveUpMs` of real time has passed
 * (the lock's TTL: past it the lock has expired by itself). A release lost to a Redis restart
 * would otherwise leave the lock for its whole TTL, and every poll in that time would skip the
 * account or the app as "busy" while `/zoomjwt poll` said a poll was under way. Releases compare
 * the token, so trying again is harmless.
 */
async function releasePatiently(release: () => Promise<unknown>, giveUpMs: number, log: Logger, what: string): Promise<void> {
  const deadline = Date.now() + giveUpMs;
  for (let attempt = 1; ; attempt++) {
    try {
      await release();
      if (attempt > 1) log.info({ attempt }, `${what} released once Redis answered again`);
      return;
    } catch (err) {
      const message = (err as Error).message;
      if (Date.now() + RELEASE_RETRY_MS > deadline) {
        log.warn({ err: { message } }, `${what} release failed; it expires by itself`);
        return;
      }
      if (attempt === 1) log.warn({ err: { message } }, `${what} release failed; trying again until Redis answers`);
      // Unref'd: a process shutting down while Redis is away does not wait for this.
      await new Promise((r) => setTimeout(r, RELEASE_RETRY_MS).unref());
    }
  }
}

/** The usage store with per-app read-lock releases that outlast a Redis restart. */
function withPatientReleases(usage: UsageStore, log: Logger): UsageStore {
  return {
    ...usage,
    releaseReadLock: (appId, token) =>
      releasePatiently(() => usage.releaseReadLock(appId, token), READ_LOCK_TTL_MS, log.child({ appId }), 'call-log read lock'),
  };
}

export type PollJobResult =
  | { account: string; skipped: 'busy' | 'unknown_account' }
  | (Omit<PollAccountResult, 'errors'> & { errors: number });

type PollDeps = Pick<Services, 'config' | 'log' | 'clock' | 'redis' | 'keys' | 'metrics' | 'apps' | 'usage' | 'health' | 'zoom' | 'events'>;

export function createPollProcessor(deps: PollDeps): Processor {
  return async (job: Job): Promise<PollJobResult> => {
    const account = typeof (job.data as Partial<PollJobData> | undefined)?.account === 'string' ? (job.data as PollJobData).account : '';
    const log = deps.log.child({ job: POLL_JOB, jobId: job.id, account });
    const zoom = deps.zoom.get(account);
    if (!zoom) {
      // A scheduler left by an older configuration, or a hand-made job: nothing to poll.
      log.warn('poll job for an account that is not configured; ignored');
      return { account, skipped: 'unknown_account' };
    }
    const token = await acquirePollLock(deps, account);
    if (token === null) {
      log.info('a poll of this account is already running; skipped');
      return { account, skipped: 'busy' };
    }
    const heartbeat = setInterval(() => {
      renewPollLock(deps, account, token).catch((err: unknown) => log.warn({ err: { message: (err as Error).message } }, 'poll lock renewal failed'));
    }, LOCK_RENEW_MS);
    heartbeat.unref();
    try {
      const result = await pollAccount({
        account,
        zoom,
        apps: deps.apps,
        usage: withPatientReleases(deps.usage, log),
        health: deps.health,
        clock: deps.clock,
        log: deps.log,
        onEvent: (event) => deps.events.emit(event),
      });
      if (result.ingested > 0) deps.metrics.entriesIngested.inc({ account }, result.ingested);
      if (result.late > 0) deps.metrics.entriesLate.inc({ account }, result.late);
      if (result.idle > 0) deps.metrics.readsSkipped.inc({ account }, result.idle);
      if (result.heldBack > 0) deps.metrics.entriesNotCounted.inc({ account, reason: 'held_back' }, result.heldBack);
      if (result.unreadable > 0) deps.metrics.entriesNotCounted.inc({ account, reason: 'unreadable' }, result.unreadable);
      // Job results are stored in Redis: counts only, the sentences are in the health record.
      const { errors, ...rest } = result;
      return { ...rest, errors: errors.length };
    } finally {
      clearInterval(heartbeat);
      await releasePatiently(() => releasePollLock(deps, account, token), POLL_LOCK_TTL_MS, log, 'poll lock');
      // Alerts that compare evidence with the lifecycle (calls after disable, polling failing
      // for an hour) run now rather than on their next scheduled check.
      await deps.events.emit({ type: 'poll_completed', account });
    }
  };
}

/**
 * One scheduler per configured account (every POLL_EVERY; BullMQ runs the first at once), and
 * none when POLL_EVERY is 0. Schedulers of accounts no longer configured are removed, so a
 * changed configuration never leaves a stray poll behind. Idempotent across processes.
 */
export async function schedulePolls(deps: Pick<Services, 'config' | 'queues' | 'log'>): Promise<void> {
  const wanted = new Set(deps.config.pollEveryMs > 0 ? deps.config.zoom.accounts.map((a) => pollSchedulerId(a.name)) : []);
  for (const scheduler of await deps.queues.poll.getJobSchedulers()) {
    const id = scheduler.key;
    if (id.startsWith('poll:') && !wanted.has(id)) {
      await deps.queues.poll.removeJobScheduler(id);
      deps.log.info({ scheduler: id }, 'removed a poll scheduler no longer configured');
    }
  }
  if (deps.config.pollEveryMs <= 0) return;
  for (const account of deps.config.zoom.accounts) {
    await deps.queues.poll.upsertJobScheduler(
      pollSchedulerId(account.name),
      { every: deps.config.pollEveryMs },
      { name: POLL_JOB, data: { account: account.name } satisfies PollJobData },
    );
  }
}

/** What `/zoomjwt poll` did for one account. */
export type EnqueueOutcome = 'queued' | 'already_queued' | 'running';

/**
 * Queues an on-demand poll of the account, unless one is running (it covers the request) or
 * already waiting (the request collapses into it).
 */
export async function enqueuePoll(deps: Pick<Services, 'queues' | 'redis' | 'keys'>, account: string): Promise<EnqueueOutcome> {
  if (await isPollRunning(deps, account)) return 'running';
  // Our own job id tells whether this add created the job or collapsed into an existing one.
  const jobId = `${pollDedupId(account)}-${randomUUID()}`;
  const job = await deps.queues.poll.add(POLL_JOB, { account } satisfies PollJobData, {
    jobId,
    // Simple deduplication: the key lives until the job completes or fails.
    deduplication: { id: pollDedupId(account) },
    removeOnComplete: { age: 3_600, count: 100 },
  });
  return job.id === jobId ? 'queued' : 'already_queued';
}
