/**
 * The daily digest and the evidence alerts (SPEC §6, §4.4), plugged in as one feature:
 *  - `/zoomjwt digest` queues the digest job (the answer is immediate; the message follows);
 *  - the `digest` job scheduler (fixed id, upserted) runs it at DIGEST_CRON in DIGEST_TZ;
 *  - poll events (`app_gone`, `new_family`, `poll_completed`) feed the alerts, and an
 *    `alerts-check` scheduler every POLL_EVERY re-checks every account, so an alert never depends
 *    on one event being delivered;
 *  - the alert's **Request enable** button (`alert_request_enable`) is handled by the approvals
 *    feature, which owns opening requests; this feature only draws it.
 */
import type { Job } from 'bullmq';
import type { ApprovalRequest } from '../approvals';
import { weakenedSettings } from '../../kernel/settings';
import type { Feature } from '../../platform/feature';
import type { DigestServices as Services } from './services';
import { createNativeSupport } from '../../platform/slack/stores/nativeRefusals';
import { notice } from '../../platform/slack/blocks';
import { createRequestStore } from '../approvals';
import { createAlerts, type Alerts } from './jobs/alerts';
import {
  DIGEST_JOB,
  DIGEST_JOB_OPTIONS,
  DIGEST_SCHEDULER_ID,
  digestInstant,
  runDigest,
  type DigestDeps,
  type RequestLister,
} from './jobs/digest';

export const ALERTS_CHECK_JOB = 'alerts-check';
export const ALERTS_SCHEDULER_ID = 'alerts-check';
/** `/zoomjwt digest` clicks within one run collapse into the job already waiting. */
const DIGEST_NOW_DEDUP_ID = 'digest-now';
const DAY_MS = 86_400_000;

export interface DigestFeatureOptions {
  /** Overrides where the digest reads requests from (default: the request store). */
  requests?: RequestLister;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Open requests plus the executions that failed or were aborted in the last 24 h (found through
 * the audit log, which records every one of them with its request id).
 */
export function requestListerFor(services: Services): RequestLister {
  const store = createRequestStore(services.redis, services.keys);
  return async () => {
    const open = await store.listOpen();
    const ended = await services.audit.since(services.clock() - DAY_MS, 1_000);
    const ids = new Set(ended.filter((e) => (e.type === 'execution.failed' || e.type === 'execution.aborted') && e.requestId).map((e) => e.requestId!));
    const failed = await Promise.all([...ids].map((id) => store.get(id)));
    return [...open, ...failed.filter((r): r is NonNullable<typeof r> => r !== null)] as ApprovalRequest[];
  };
}

export function createDigestFeature(services: Services, options: DigestFeatureOptions = {}): Feature & { alerts: Alerts; deps: DigestDeps } {
  const { config, log } = services;
  const deps: DigestDeps = {
    redis: services.redis,
    keys: services.keys,
    slack: services.slack,
    apps: services.apps,
    usage: services.usage,
    health: services.health,
    audit: services.audit,
    log,
    clock: services.clock,
    channel: config.digestChannel,
    tz: config.digestTz,
    accounts: config.zoom.accounts.map((a) => a.name),
    soakPeriodMs: config.soakPeriodMs,
    pollEveryMs: config.pollEveryMs,
    mode: config.actionsMode,
    warnings: weakenedSettings(config).map((w) => w.text),
    requests: options.requests ?? requestListerFor(services),
    slackProblems: (now) => services.slackHealth.problems(now),
    native: createNativeSupport(services.redis, services.keys, () => services.slackIdentity.teamId),
    ...(options.sleep ? { sleep: options.sleep } : {}),
  };
  const alerts = createAlerts({ ...deps, channel: config.digestChannel });
  // Poll events are emitted in the worker that ran the poll; handlers here run there too.
  services.events.on((event) => alerts.onEvent(event));

  return {
    name: 'digest',
    alerts,
    deps,
    commands: {
      digest: async (ctx) => {
        await services.queues.digest.add(
          DIGEST_JOB,
          { at: ctx.now, by: ctx.userId },
          { ...DIGEST_JOB_OPTIONS, deduplication: { id: DIGEST_NOW_DEDUP_ID } },
        );
        return notice(`:newspaper: Today's digest is on its way to <#${config.digestChannel}>. If it was already posted today, that message is refreshed instead.`);
      },
    },
    processors: {
      digest: {
        [DIGEST_JOB]: async (job: Job) => {
          const by = (job.data as { by?: unknown } | undefined)?.by;
          return runDigest(deps, { at: digestInstant(job), ...(typeof by === 'string' ? { actor: by } : {}) });
        },
        [ALERTS_CHECK_JOB]: async () => {
          const fired: string[] = [];
          for (const account of deps.accounts) fired.push(...(await alerts.checkAccount(account)));
          return { fired };
        },
      },
    },
    async schedule() {
      await services.queues.digest.upsertJobScheduler(
        DIGEST_SCHEDULER_ID,
        { pattern: config.digestCron, tz: config.digestTz },
        { name: DIGEST_JOB, data: {}, opts: DIGEST_JOB_OPTIONS },
      );
      if (config.pollEveryMs > 0) {
        await services.queues.digest.upsertJobScheduler(ALERTS_SCHEDULER_ID, { every: config.pollEveryMs }, { name: ALERTS_CHECK_JOB, data: {} });
      } else {
        await services.queues.digest.removeJobScheduler(ALERTS_SCHEDULER_ID);
      }
    },
  };
}
