/**
 * The worker side of sign-off (SPEC §5.3): carrying out an approved request, expiring pending
 * ones, and a sweeper for anything a lost delayed job or a crashed web process left behind.
 *
 * Exactly-once: only the click whose signature reached quorum (decided inside one Lua script)
 * queues the execution, under a job id derived from the request id, so a second add collapses;
 * the processor acts only on a request still `approved` and finishes it with a compare-and-set,
 * so a retried or duplicated job finds nothing left to do. The one external effect, Zoom's
 * DELETE, is idempotent (404/1401 = already gone), which is what makes BullMQ's retries safe.
 */
import type { Job } from 'bullmq';
import { executionRecheck, lifecycleChange, type StoredRequest } from '../domain/approval';
import { escapeMrkdwn } from '../domain/format';
import type { Services } from '../services';
import { EXECUTION_ATTEMPTS, JOB, type ApprovalFlow } from '../slack/approvals';
import type { TransitionResult } from '../store/requests';
import { ZoomError } from '../zoom/errors';
import type { Processor } from './queues';

/** The sweeper's job scheduler: one id for every process, so upserting it twice is harmless. */
export const SWEEP_SCHEDULER_ID = 'approvals-sweep';
export const SWEEP_EVERY_MS = 60_000;
/** An `approved` request older than this with no finished execution gets its job queued again. */
const REQUEUE_AFTER_MS = 60_000;

export interface ApprovalJobs {
  processors: Record<string, Processor>;
  schedule(): Promise<void>;
}

export function createApprovalJobs(s: Services, flow: ApprovalFlow): ApprovalJobs {
  const { store } = flow;
  const log = s.log.child({ feature: 'approvals' });

  /** After a transition the worker made: audit, card, requester; once, by whoever won the CAS. */
  async function settled(
    res: TransitionResult,
    audit: (req: StoredRequest) => Parameters<ApprovalFlow['audit']>[0],
    tell: (req: StoredRequest) => string,
  ): Promise<StoredRequest | undefined> {
    if (res.outcome !== 'ok' || !res.request) {
      log.info({ outcome: res.outcome, status: res.request?.status }, 'request already moved on; nothing to record');
      return undefined;
    }
    await flow.audit(audit(res.request));
    await flow.refreshCard(res.request);
    await flow.tellRequester(res.request, tell(res.request));
    return res.request;
  }

  const base = (req: StoredRequest) => ({ appId: req.appId, account: req.account, requestId: req.id, actor: 'system' as const });
  const name = (req: StoredRequest) => `*${escapeMrkdwn(req.appName)}*`;

  async function operatorStep(req: StoredRequest, outcome: string, mode: 'dry-run' | 'live'): Promise<void> {
    await settled(
      await store.awaitOperator(req.id, s.clock(), { mode, outcome }),
      (r) => ({ ...base(r), type: 'operator.step', summary: `Request ${r.id} approved; waiting for a person to ${r.action} ${r.appName} in the Marketplace`, details: { mode } }),
      (r) => `:raising_hand: Your request \`${r.id}\` was approved. Someone (you or an approver) now has to ${r.action === 'remove' ? 'remove' : r.action} ${name(r)} in the Zoom Marketplace and press *Done* on the card.`,
    );
  }

  async function execute(job: Job): Promise<unknown> {
    const id = String((job.data as { requestId?: unknown }).requestId ?? '');
    const req = await store.get(id);
    if (!req || req.status !== 'approved') return { skipped: req?.status ?? 'unknown' };
    const jlog = log.child({ requestId: id, action: req.action });
    const mode = s.config.actionsMode;
    if (job.attemptsMade === 0) {
      await flow.audit({ ...base(req), type: 'execution.started', summary: `Executing request ${id}: ${req.action} ${req.appName} (${mode})`, details: { mode } });
    }

    const [app, summary] = await Promise.all([s.apps.get(req.appId), s.usage.summary(req.appId)]);
    const why = executionRecheck(req, app, summary.lastSuccess);
    if (why) {
      await settled(
        await store.abort(id, s.clock(), `Stopped before execution: ${why}. Nothing was done.`),
        (r) => ({ ...base(r), type: 'execution.aborted', summary: `Request ${r.id} stopped at execution: ${why}` }),
        (r) => `:octagonal_sign: Your request \`${r.id}\` was approved, but ${why}, so nothing was done.`,
      );
      return { aborted: why };
    }

    if (req.action !== 'remove') {
      await operatorStep(req, 'Approved. Zoom has no API to disable or enable an app, so a person does it in the Marketplace.', mode);
      return { operator: true };
    }

    if (mode === 'dry-run') {
      const outcome = `DRY RUN: nothing was sent to Zoom. In live mode zoomjwt would have sent DELETE /marketplace/apps/${req.appId}, removing ${req.appName} permanently, and marked it removed.`;
      await settled(
        await store.markExecuted(id, s.clock(), { mode, outcome }),
        (r) => ({ ...base(r), type: 'execution.dry_run', summary: `Dry run of request ${r.id}: would have removed ${r.appName} (DELETE /marketplace/apps/${r.appId})` }),
        (r) => `:test_tube: Your request \`${r.id}\` was approved. This install runs in DRY-RUN mode, so nothing was sent to Zoom: ${name(r)} would have been removed.`,
      );
      return { dryRun: true };
    }

    const zoom = s.zoom.get(req.account);
    if (!zoom) {
      await operatorStep(req, `zoomjwt has no Zoom credentials for account ${req.account}; remove the app by hand.`, mode);
      return { operator: true };
    }
    let result: 'deleted' | 'already_gone';
    try {
      result = await zoom.deleteApp(req.appId);
    } catch (err) {
      const attempts = job.opts.attempts ?? 1;
      const retryable = err instanceof ZoomError ? err.retryable || err.kind === 'paused' : true;
      if (retryable && job.attemptsMade + 1 < attempts) throw err;
      const sentence = err instanceof ZoomError ? err.explain() : 'an unexpected error';
      jlog.warn({ err: { message: (err as Error).message } }, 'Zoom did not remove the app; falling back to the operator step');
      await flow.audit({ ...base(req), type: 'execution.failed', summary: `Zoom did not remove ${req.appName} for request ${id}: ${sentence}`, details: { kind: err instanceof ZoomError ? err.kind : 'unexpected' } });
      await operatorStep(req, `Zoom did not remove it: ${sentence}. Remove it by hand (the "…" menu → Remove App), then press Done.`, mode);
      return { operator: true };
    }

    const gone = result === 'already_gone';
    const outcome = gone ? 'Zoom says the app was already gone; recorded as removed.' : 'Removed from Zoom (DELETE answered 2xx).';
    const who = `zoomjwt:${id}`;
    let res = await store.markExecuted(id, s.clock(), { mode, outcome }, { appId: req.appId, change: lifecycleChange('remove', who, s.clock()) });
    if (res.outcome === 'app_state') {
      // The app moved (e.g. a poll marked it removed) between the re-check and now; Zoom has
      // removed it either way, so the request is done without touching the lifecycle again.
      res = await store.markExecuted(id, s.clock(), { mode, outcome: `${outcome} The app's state had already changed in zoomjwt.` });
    }
    await settled(
      res,
      (r) => ({ ...base(r), type: 'execution.succeeded', summary: `Removed ${r.appName} from Zoom (request ${r.id}${gone ? ', already gone' : ''})`, details: { result } }),
      (r) => `:white_check_mark: Your request \`${r.id}\` is done: ${name(r)} was removed from Zoom.`,
    );
    return { result };
  }

  async function expire(job: Job): Promise<unknown> {
    const id = String((job.data as { requestId?: unknown }).requestId ?? '');
    const res = await store.expire(id, s.clock());
    if (res.outcome === 'expired' && res.request) await flow.afterExpired(res.request);
    return { outcome: res.outcome };
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
    for (const req of await store.listOpen()) {
      // A web process that died between quorum and queueing would leave this approved forever;
      // the add is a no-op while the job exists, and the processor ignores finished requests.
      if (req.status === 'approved' && now - (req.decidedAt ?? now) >= REQUEUE_AFTER_MS) {
        await flow.enqueueExecution(req.id);
        requeued += 1;
      }
    }
    return { expired, requeued };
  }

  // A last attempt that failed for a reason that is not Zoom's (Redis, a bug) must not leave the
  // request looking approved forever: record the failure on the card.
  const guarded: Processor = async (job) => {
    try {
      return await execute(job);
    } catch (err) {
      const finalAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? EXECUTION_ATTEMPTS);
      if (finalAttempt) {
        const id = String((job.data as { requestId?: unknown }).requestId ?? '');
        await settled(
          await store.fail(id, s.clock(), 'Execution failed after retries; nothing more will be tried. Check the app in the Marketplace.'),
          (r) => ({ ...base(r), type: 'execution.failed', summary: `Request ${r.id} failed after ${job.attemptsMade + 1} attempts` }),
          (r) => `:x: Your request \`${r.id}\` could not be carried out. The card says what to check.`,
        ).catch(() => undefined);
      }
      throw err;
    }
  };

  return {
    processors: { [JOB.execute]: guarded, [JOB.expire]: expire, [JOB.sweep]: sweep },
    async schedule() {
      await s.queues.actions.upsertJobScheduler(SWEEP_SCHEDULER_ID, { every: SWEEP_EVERY_MS }, { name: JOB.sweep, data: {} });
    },
  };
}
