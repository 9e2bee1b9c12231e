/**
 * The worker side of sign-off (SPEC §5.3): carrying out an approved request, expiring pending
 * ones, and a sweeper for anything a lost delayed job or a crashed process left behind.
 *
 * Exactly-once: only the click whose signature reached quorum (decided inside one Lua script)
 * queues the execution, under a job id derived from the request id, so a second add collapses;
 * the processor acts only on a request still `approved` and finishes it with a compare-and-set,
 * so a retried or duplicated job finds nothing left to do. The one external effect, Zoom's
 * DELETE, is idempotent (404/1401 = already gone), which is what makes BullMQ's retries safe.
 *
 * Crash-safe aftermath: what follows an outcome (its audit entry, the card, the requester's DM)
 * is written down in `{p}:execution:<id>` *before* the compare-and-set, and marked settled once
 * done. A worker killed in between leaves the request in its outcome state with an unsettled
 * aftermath; BullMQ runs the job again once its lock expires (or the sweeper finds it), and the
 * re-run finishes the aftermath instead of skipping. Each effect is safe to repeat: the audit
 * append is deduplicated by `<requestId>:<step>`, the card is redrawn from the stored request,
 * and the DM is claimed before it is sent (at most once). The same hash records when a DELETE was
 * sent, so a re-run that finds the app gone can tell its own earlier removal from someone else's.
 */
import { DelayedError, type Job } from 'bullmq';
import { executionRecheck, lifecycleChange, operatorDeadlineOf, type StoredRequest } from '../rules/approval';
import { escapeMrkdwn } from '../../../kernel/format';
import type { ApprovalServices as Services } from '../services';
import type { ApprovalFlow } from '../flow';
import { EXECUTION_ATTEMPTS, JOB, jobIds } from './names';
import { APP_LEASE_TTL_MS, appLeaseKey, withLease } from '../../../platform/redis/lease';
import type { TransitionResult } from '../stores/requests';
import { createExecutionStore, type Aftermath } from '../stores/executions';
import { ZoomError, ZoomPausedError } from '../../../platform/zoom/errors';
import type { Processor } from '../../../platform/queue/queues';

/** The sweeper's job scheduler: one id for every process, so upserting it twice is harmless. */
export const SWEEP_SCHEDULER_ID = 'approvals-sweep';
export const SWEEP_EVERY_MS = 60_000;
/**
 * An `approved` request older than this with no finished execution gets its job queued again;
 * an outcome whose aftermath is still unsettled this long after it was written gets finished.
 */
const REQUEUE_AFTER_MS = 60_000;
/** How long an execution waits for its app's lease (held by a Done or another execution) (ms). */
const EXECUTION_LEASE_WAIT_MS = 30_000;
/** Unsettled aftermaths finished per sweep (each is a few Redis calls and two Slack calls). */
const RESUME_PER_SWEEP = 50;
/** A removal waiting out a Zoom pause is sent this long after the pause ends (ms). */
const PAUSE_MARGIN_MS = 5_000;

export interface ApprovalJobs {
  processors: Record<string, Processor>;
  schedule(): Promise<void>;
}

/** The request id a job carries (our own enqueues always set a string; anything else names no request). */
function requestIdOf(data: unknown): string {
  const id = (data as { requestId?: unknown } | null)?.requestId;
  return typeof id === 'string' ? id : '';
}

export function createApprovalJobs(s: Services, flow: ApprovalFlow): ApprovalJobs {
  const { store } = flow;
  const log = s.log.child({ feature: 'approvals' });
  const executions = createExecutionStore(s.redis, s.keys);
  const markSettled = (id: string) => executions.markSettled(id, s.clock());

  /** Audit entry, card, requester: each safe to repeat, so a re-run after a crash may redo all three. */
  async function finishAftermath(req: StoredRequest, a: Aftermath): Promise<void> {
    const entry = await flow.audit(a.audit, { dedupeKey: `${req.id}:${a.step}` });
    await flow.refreshCard(req);
    await flow.announce(req);
    await flow.tellRequester(req, a.tell, { once: a.step });
    // Without the audit entry the aftermath stays unsettled; the sweeper tries it again.
    if (entry) await markSettled(req.id);
  }

  /** One outcome transition the worker makes, with its aftermath; once, by whoever won the CAS. */
  async function settle(req: StoredRequest, a: Aftermath, transition: () => Promise<TransitionResult>): Promise<StoredRequest | undefined> {
    await executions.writeAftermath(req.id, a, s.clock());
    const res = await transition();
    if (res.outcome !== 'ok' || !res.request) {
      log.info({ requestId: req.id, outcome: res.outcome, status: res.request?.status }, 'request already moved on; nothing to record');
      return undefined;
    }
    await finishAftermath(res.request, a);
    return res.request;
  }

  /**
   * A run that finds the request no longer `approved`: an earlier run made the transition. If
   * that run died before its aftermath was done, finish it now; otherwise there is nothing to do.
   */
  async function resume(req: StoredRequest): Promise<unknown> {
    const a = await executions.unsettledAftermath(req.id);
    if (!a) {
      await executions.unlist(req.id);
      return { skipped: req.status };
    }
    if (a.to !== req.status) {
      // Written for a transition that never happened (a concurrent run won with another outcome),
      // or the request has moved on since (e.g. Done was pressed): nothing of it is still true.
      log.warn({ requestId: req.id, status: req.status, step: a.step }, 'dropping an aftermath that no longer matches the request');
      await markSettled(req.id);
      return { skipped: req.status };
    }
    log.warn({ requestId: req.id, status: req.status, step: a.step }, 'finishing the audit entry, card and requester message an interrupted run left undone');
    await finishAftermath(req, a);
    return { resumed: a.step };
  }

  const base = (req: StoredRequest) => ({ appId: req.appId, account: req.account, requestId: req.id, actor: 'system' as const });
  const name = (req: StoredRequest) => `*${escapeMrkdwn(req.appName)}*`;

  async function operatorStep(req: StoredRequest, outcome: string, mode: 'dry-run' | 'live'): Promise<void> {
    await settle(
      req,
      {
        to: 'awaiting_operator',
        step: 'operator-step',
        audit: { ...base(req), type: 'operator.step', summary: `Request ${req.id} approved; waiting for a person to ${req.action} ${req.appName} in the Marketplace`, details: { mode } },
        tell: `:raising_hand: Your request \`${req.id}\` was approved. Someone (you or an approver) now has to ${req.action === 'remove' ? 'remove' : req.action} ${name(req)} in the Zoom Marketplace and press *Done* on the card.`,
      },
      () => store.awaitOperator(req.id, s.clock(), { mode, outcome }),
    );
  }

  /**
   * Whether an earlier run of this request sent Zoom a DELETE and Zoom no longer has the app: that
   * run died before recording its removal (the app may since have been seen gone by a poll).
   */
  async function removedByEarlierRun(req: StoredRequest): Promise<boolean> {
    const sent = await executions.deleteWasSent(req.id);
    const zoom = s.zoom.get(req.account);
    if (!sent || !zoom) return false;
    return (await zoom.getApp(req.appId)) === null;
  }

  /**
   * Zoom's Daily-limit pause on the account: nothing may be sent before it ends, and retrying with
   * backoff would spend the job's attempts in about 30 s and hand a removal that only has to wait
   * to a person. So the job waits instead: it moves to BullMQ's delayed set until the pause ends
   * (DelayedError: no attempt is used), and the card says when the removal will be sent.
   */
  async function waitOutPause(job: Job, token: string, req: StoredRequest, err: ZoomPausedError): Promise<never> {
    if (await store.notePause(req.id, err.until)) {
      await flow.audit(
        {
          ...base(req),
          type: 'execution.paused',
          summary: `Request ${req.id} waits for Zoom's daily API limit on account ${req.account}; ${req.appName} is removed after ${new Date(err.until).toISOString()}`,
          details: { until: err.until },
        },
        { dedupeKey: `${req.id}:paused:${err.until}` },
      );
      await flow.refreshCard({ ...req, pausedUntil: err.until });
    }
    log.info({ requestId: req.id, until: new Date(err.until).toISOString() }, 'execution waits for the Zoom pause to end');
    await job.moveToDelayed(err.until + PAUSE_MARGIN_MS, token);
    throw new DelayedError();
  }

  async function execute(job: Job, token?: string): Promise<unknown> {
    const id = requestIdOf(job.data);
    const first = await store.get(id);
    if (!first) return { skipped: 'unknown' };
    if (first.status !== 'approved') return resume(first);
    // The re-check, the DELETE and its recording hold the app's lease, so no Done of another
    // request of the app (an enable) lands between them. Busy past the wait: BullMQ retries.
    return withLease(s.redis, appLeaseKey(s.keys, first.appId), { ttlMs: APP_LEASE_TTL_MS, waitMs: EXECUTION_LEASE_WAIT_MS }, async () => {
      // Read again under the lease: what was true before it may not be now.
      const req = await store.get(id);
      if (!req) return { skipped: 'unknown' };
      if (req.status !== 'approved') return resume(req);
      return executeApproved(job, req, token);
    });
  }

  async function executeApproved(job: Job, req: StoredRequest, token: string | undefined): Promise<unknown> {
    const id = req.id;
    const jlog = log.child({ requestId: id, action: req.action });
    const mode = s.config.actionsMode;
    await flow.audit(
      { ...base(req), type: 'execution.started', summary: `Executing request ${id}: ${req.action} ${req.appName} (${mode})`, details: { mode } },
      { dedupeKey: `${id}:started` },
    );

    const [app, summary, enableOpen] = await Promise.all([
      s.apps.get(req.appId),
      s.usage.summary(req.appId),
      req.action === 'remove' ? store.openFor(req.appId, 'enable') : Promise.resolve(undefined),
    ]);
    const why = executionRecheck(req, app, summary.lastSuccess, { enableRequestOpen: enableOpen !== undefined, ...(summary.read ? { read: summary.read } : {}) });
    // The re-check guards a DELETE not yet sent; one already carried out is recorded, not aborted.
    const ours = why !== undefined && req.action === 'remove' && mode === 'live' && (await removedByEarlierRun(req));
    if (why && !ours) {
      await settle(
        req,
        {
          to: 'aborted',
          step: 'aborted',
          audit: { ...base(req), type: 'execution.aborted', summary: `Request ${id} stopped at execution: ${why}` },
          tell: `:octagonal_sign: Your request \`${id}\` was approved, but ${why}, so nothing was done.`,
        },
        () => store.abort(id, s.clock(), `Stopped before execution: ${why}. Nothing was done.`),
      );
      return { aborted: why };
    }

    if (req.action !== 'remove') {
      await operatorStep(req, 'Approved. Zoom has no API to disable or enable an app, so a person does it in the Marketplace.', mode);
      return { operator: true };
    }

    if (mode === 'dry-run') {
      const outcome = `DRY RUN: nothing was sent to Zoom. In live mode zoomjwt would have sent DELETE /marketplace/apps/${req.appId}, removing ${req.appName} permanently, and marked it removed.`;
      await settle(
        req,
        {
          to: 'executed',
          step: 'dry-run',
          audit: { ...base(req), type: 'execution.dry_run', summary: `Dry run of request ${id}: would have removed ${req.appName} (DELETE /marketplace/apps/${req.appId})` },
          tell: `:test_tube: Your request \`${id}\` was approved. This install runs in DRY-RUN mode, so nothing was sent to Zoom: ${name(req)} would have been removed.`,
        },
        () => store.markExecuted(id, s.clock(), { mode, outcome }),
      );
      return { dryRun: true };
    }

    const zoom = s.zoom.get(req.account);
    if (!zoom) {
      await operatorStep(req, `zoomjwt has no Zoom credentials for account ${req.account}; remove the app by hand.`, mode);
      return { operator: true };
    }
    let result: 'deleted' | 'already_gone' = 'already_gone';
    if (!ours) {
      await executions.noteDeleteSent(id, s.clock());
      try {
        result = await zoom.deleteApp(req.appId);
      } catch (err) {
        if (err instanceof ZoomPausedError && token !== undefined) return waitOutPause(job, token, req, err);
        const attempts = job.opts.attempts ?? 1;
        const retryable = err instanceof ZoomError ? err.retryable || err.kind === 'paused' : true;
        if (retryable && job.attemptsMade + 1 < attempts) throw err;
        const sentence = err instanceof ZoomError ? err.explain() : 'an unexpected error';
        jlog.warn({ err: { message: (err as Error).message } }, 'Zoom did not remove the app; falling back to the operator step');
        await flow.audit(
          { ...base(req), type: 'execution.failed', summary: `Zoom did not remove ${req.appName} for request ${id}: ${sentence}`, details: { kind: err instanceof ZoomError ? err.kind : 'unexpected' } },
          { dedupeKey: `${id}:delete-refused` },
        );
        await operatorStep(req, `Zoom did not remove it: ${sentence}. Remove it by hand (the "…" menu → Remove App), then press Done.`, mode);
        return { operator: true };
      }
    }

    const gone = result === 'already_gone';
    const outcome = gone ? 'Zoom says the app was already gone; recorded as removed.' : 'Removed from Zoom (DELETE answered 2xx).';
    const who = `zoomjwt:${id}`;
    await settle(
      req,
      {
        to: 'executed',
        step: 'succeeded',
        audit: { ...base(req), type: 'execution.succeeded', summary: `Removed ${req.appName} from Zoom (request ${id}${gone ? ', already gone' : ''})`, details: { result } },
        tell: `:white_check_mark: Your request \`${id}\` is done: ${name(req)} was removed from Zoom.`,
      },
      async () => {
        const res = await store.markExecuted(id, s.clock(), { mode, outcome }, { appId: req.appId, change: lifecycleChange('remove', who, s.clock()) });
        if (res.outcome !== 'app_state') return res;
        // The app moved (e.g. a poll saw it gone) between the re-check and now; Zoom has removed
        // it either way, so the request is done without touching the lifecycle again.
        return store.markExecuted(id, s.clock(), { mode, outcome: `${outcome} The app's state had already changed in zoomjwt.` });
      },
    );
    return { result };
  }

  async function expire(job: Job): Promise<unknown> {
    const id = requestIdOf(job.data);
    const res = await store.expire(id, s.clock());
    if (res.outcome === 'expired' && res.request) await flow.afterExpired(res.request);
    return { outcome: res.outcome };
  }

  /** A reminder fires: the flow claims it once per request and moment and sends it if still due. */
  async function remind(job: Job): Promise<unknown> {
    const data = job.data as { requestId?: unknown; moment?: unknown };
    const moment = data.moment === 'hour' ? 'hour' : 'half';
    return { outcome: await flow.remind(requestIdOf(data), moment) };
  }

  /**
   * Queues the execution of an approved request again. A job that still exists and is not
   * finished will run (adding collapses into it); a finished one (e.g. failed after its worker
   * died twice) is removed first, since the same job id cannot be added while it exists.
   */
  async function requeue(id: string): Promise<void> {
    const job = await s.queues.actions.getJob(jobIds.execute(id));
    if (job) {
      const state = await job.getState();
      if (state !== 'completed' && state !== 'failed') return;
      await job.remove();
    }
    await flow.enqueueExecution(id);
  }

  async function sweep(): Promise<unknown> {
    const now = s.clock();
    let expired = 0;
    for (const id of await store.dueForExpiry(now)) {
      const res = await store.expire(id, now);
      if (res.outcome === 'expired' && res.request) {
        expired += 1;
        await flow.afterExpired(res.request);
      }
    }
    let requeued = 0;
    let operatorExpired = 0;
    for (const req of await store.listOpen()) {
      // An operator step nobody finished would hold the app's request lock forever.
      if (req.status === 'awaiting_operator' && now >= operatorDeadlineOf(req)) {
        const res = await store.expireOperatorStep(req.id, now);
        if (res.outcome === 'ok' && res.request) {
          operatorExpired += 1;
          await flow.audit(
            { ...base(req), type: 'operator.expired', summary: `Request ${req.id} to ${req.action} ${req.appName} expired at the Marketplace step: nobody pressed Done; nothing was recorded on the app` },
            { dedupeKey: `${req.id}:operator-expired` },
          );
          await flow.refreshCard(res.request);
          await flow.announce(res.request);
          await flow.tellRequester(
            res.request,
            `:alarm_clock: Your request \`${req.id}\` to ${req.action} ${name(req)} expired: nobody pressed *Done* for the Marketplace step before its deadline. Nothing was recorded on the app.`,
            { once: 'operator-expired' },
          );
        }
        continue;
      }
      // A web process that died between quorum and queueing would leave this approved forever;
      // the processor ignores finished requests, so queueing once too often costs nothing.
      if (req.status === 'approved' && now - (req.decidedAt ?? now) >= REQUEUE_AFTER_MS) {
        await requeue(req.id);
        requeued += 1;
      }
    }
    // Outcomes recorded by a run that died before the audit/card/DM, whose job is gone too.
    let resumed = 0;
    for (const id of await executions.unsettledWrittenBy(now - REQUEUE_AFTER_MS, RESUME_PER_SWEEP)) {
      const req = await store.get(id);
      if (!req) await executions.unlist(id);
      else if (req.status !== 'approved') {
        await resume(req);
        resumed += 1;
      }
    }
    return { expired, operatorExpired, requeued, resumed };
  }

  // A last attempt that failed for a reason that is not Zoom's (Redis, a bug) must not leave the
  // request looking approved forever: record the failure on the card.
  const guarded: Processor = async (job, token) => {
    try {
      return await execute(job, token);
    } catch (err) {
      if (err instanceof DelayedError) throw err;
      const finalAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? EXECUTION_ATTEMPTS);
      const id = requestIdOf(job.data);
      if (finalAttempt) {
        await (async () => {
          // Only a request still waiting for its execution fails; one whose outcome is recorded
          // keeps it (its aftermath is finished by the sweeper).
          const req = await store.get(id);
          if (req?.status !== 'approved') return;
          await settle(
            req,
            {
              to: 'failed',
              step: 'failed',
              audit: { ...base(req), type: 'execution.failed', summary: `Request ${id} failed after ${job.attemptsMade + 1} attempts` },
              tell: `:x: Your request \`${id}\` could not be carried out. The card says what to check.`,
            },
            () => store.fail(id, s.clock(), 'Execution failed after retries; nothing more will be tried. Check the app in the Marketplace.'),
          );
        })().catch(() => undefined);
      }
      throw err;
    }
  };

  return {
    processors: { [JOB.execute]: guarded, [JOB.expire]: expire, [JOB.sweep]: sweep, [JOB.remind]: remind },
    async schedule() {
      await s.queues.actions.upsertJobScheduler(SWEEP_SCHEDULER_ID, { every: SWEEP_EVERY_MS }, { name: JOB.sweep, data: {} });
    },
  };
}
