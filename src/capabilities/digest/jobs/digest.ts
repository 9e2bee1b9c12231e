/**
 * The digest job (SPEC §6): gather → render (pure, domain/digest) → post once per local date.
 *
 * Exactly one message per local date, however many workers run and however often the job runs:
 * a Lua claim on `{p}:digest-day:<date>` moves the day from nothing → `posting` (this runner owns
 * the post) → `posted` (channel + ts stored). Whoever finds `posted` edits that message with
 * `chat.update`; whoever finds `posting` waits briefly and then fails the attempt so BullMQ retries
 * it later, rather than posting a second message. The Slack client has no retries of its own
 * (`retries: 0`), so one `chat.postMessage` call is at most one message.
 *
 * A claim whose post failed (Slack answered an error or a 429, a 5xx, a timeout, no connection) is
 * released at once, so BullMQ's next attempt of the same job posts: the claim (10 min) outlives
 * all of the job's retries (about 2.5 min), so a claim kept after one failed post would turn every
 * retry into "busy" and lose the day. A 5xx or a timeout can come after Slack did post; then the
 * retry posts a second message. A claim whose runner died mid-post expires after POSTING_TTL_MS:
 * then a later run posts again, with the same risk. Those are the cases we accept, because the
 * alternative is a day with no digest at all.
 */
import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import {
  DIGEST_CHART_DAYS,
  digestCounts,
  digestDate,
  previousDate,
  type DigestApp,
  type DigestCounts,
  type DigestModel,
} from '../model';
import { renderDigest } from '../views/digest';
import { lastNDays } from '../../../kernel/format';
import type { DailyUsage } from '../../evidence';
import { guessIntegrations } from '../../evidence';
import type { ApprovalRequest } from '../../approvals';
import type { AlertDeps } from './alerts';
import { sendWithFallback } from '../../../platform/slack/native';
import { type NativeSupport } from '../../../platform/slack/stores/nativeRefusals';
import { createDigestDayStore } from '../stores/digestDays';

/** The job scheduler's fixed id and the job name, on the `digest` queue. */
export const DIGEST_SCHEDULER_ID = 'digest';
export const DIGEST_JOB = 'digest';
/** A run finding another runner mid-post fails and is retried by BullMQ with this backoff. */
export const DIGEST_JOB_OPTIONS = { attempts: 6, backoff: { type: 'exponential', delay: 5_000 } } as const;

/** How long a `posting` claim holds before a later run may post again (ms). */
export const POSTING_TTL_MS = 10 * 60_000;
/** Day records are kept this long after the post (ms): yesterday's counts feed today's trends. */
export const DAY_RECORD_TTL_MS = 8 * 86_400_000;
/** How long a run waits for another runner's post to land before giving the attempt up (ms). */
const WAIT_FOR_POST_MS = 5_000;
const WAIT_STEP_MS = 250;
const DAY_MS = 86_400_000;

/** What the digest needs from the approval requests (the request store provides it). */
export type RequestLister = () => Promise<ApprovalRequest[]>;

/** What the digest reads and where it posts: the alerts' dependencies, plus its own settings. */
export interface DigestDeps extends AlertDeps {
  tz: string;
  accounts: string[];
  soakPeriodMs: number;
  pollEveryMs: number;
  mode: 'dry-run' | 'live';
  /** Weakened settings in force, for the banner. */
  warnings?: string[];
  /** Recent requests of any status; absent until the approvals feature provides it. */
  requests?: RequestLister;
  /** Slack API problems (bot not in channel, bad token…) still unresolved. */
  slackProblems?: (now: number) => Promise<Array<{ sentence: string; count: number }>>;
  /** Whether this install refuses native charts; without it, the digest goes out with its text fallback. */
  native?: NativeSupport;
  sleep?: (ms: number) => Promise<void>;
}

export interface DigestRunResult {
  date: string;
  action: 'posted' | 'updated';
  channel: string;
  ts: string;
}

/** Another runner holds the day's claim and has not stored its message yet: retry later. */
export class DigestBusyError extends Error {
  readonly code = 'digest_busy';
  constructor(readonly date: string) {
    super(`the digest for ${date} is being posted by another runner; retrying later`);
    this.name = 'DigestBusyError';
  }
}

/** Slack answered with an error: the message was certainly not posted. */
function slackRefused(err: unknown): boolean {
  return (err as { code?: string }).code === 'slack_webapi_platform_error';
}

/**
 * The instant a digest job stands for: the scheduled time of a scheduler run (so a run delayed
 * past midnight still counts for its own date), else `data.at`, else when it was created.
 */
export function digestInstant(job: Pick<Job, 'id' | 'opts' | 'data' | 'timestamp'>): number {
  const prev = (job.opts as { prevMillis?: unknown }).prevMillis;
  if (typeof prev === 'number' && Number.isFinite(prev) && prev > 0) return prev;
  const fromId = /^repeat:[^:]+:(\d+)$/.exec(job.id ?? '');
  if (fromId) return Number(fromId[1]);
  const at = (job.data as { at?: unknown } | undefined)?.at;
  if (typeof at === 'number' && Number.isFinite(at) && at > 0) return at;
  return job.timestamp;
}

/** Calls per day of all apps together. */
function sumDaily(days: string[], perApp: DailyUsage[][]): DailyUsage[] {
  return days.map((day, i) => {
    const out: DailyUsage = { day, total: 0, ok: 0, failed: 0, byClass: { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, other: 0 } };
    for (const rows of perApp) {
      const d = rows[i];
      if (!d) continue;
      out.total += d.total;
      out.ok += d.ok;
      out.failed += d.failed;
      for (const c of Object.keys(out.byClass) as Array<keyof DailyUsage['byClass']>) out.byClass[c] += d.byClass[c] ?? 0;
    }
    return out;
  });
}

/** Reads everything the digest shows. `now` is the current time; `date` the local date it is for. */
export async function collectDigest(deps: DigestDeps, now: number, date: string): Promise<DigestModel> {
  const tracked = await deps.apps.list();
  const ids = tracked.map((a) => a.appId);
  const days7 = lastNDays(now, 7);
  const chartDays = lastNDays(now, DIGEST_CHART_DAYS);
  const perApp = Promise.all(tracked.map((a) => deps.usage.daily(a.appId, chartDays)));
  const [windows, summaries, health, changes, candidates, yesterday, requests, slackProblems, auditHead] = await Promise.all([
    deps.usage.windowMany(ids, now),
    deps.usage.summaryMany(ids),
    deps.health.getAll(deps.accounts),
    deps.audit.since(now - DAY_MS, 500),
    deps.apps.candidates(),
    createDigestDayStore(deps.redis, deps.keys).counts(previousDate(date)),
    deps.requests
      ? deps.requests().then(
          (r) => r,
          (err: unknown) => {
            deps.log.warn({ err: { message: (err as Error).message } }, 'digest could not read approval requests');
            return null;
          },
        )
      : Promise.resolve(null),
    deps.slackProblems ? deps.slackProblems(now).catch(() => []) : Promise.resolve([]),
    deps.audit.head(),
  ]);

  const apps: DigestApp[] = await Promise.all(
    tracked.map(async (app) => {
      const w = windows.get(app.appId);
      const s = summaries.get(app.appId);
      const row: DigestApp = {
        appId: app.appId,
        name: app.name,
        account: app.account,
        state: app.state,
        trackedAt: app.trackedAt,
        calls24h: w?.calls24h ?? 0,
        prev24h: w?.prev24h ?? 0,
        calls7d: w?.calls7d ?? 0,
        fails24h: w?.fails24h ?? 0,
        topEndpoints: [],
        ...(app.owner ? { owner: app.owner } : {}),
        ...(app.migrated ? { migrated: true } : {}),
        ...(app.disabledAt !== undefined ? { disabledAt: app.disabledAt } : {}),
        ...(app.goneAt !== undefined ? { goneAt: app.goneAt } : {}),
        ...(s?.lastCall !== undefined ? { lastCall: s.lastCall } : {}),
        ...(s?.lastSuccess !== undefined ? { lastSuccess: s.lastSuccess } : {}),
        ...(s?.lastComplete !== undefined ? { lastRead: s.lastComplete } : {}),
      };
      // Endpoint detail only where the digest shows it: apps still called this week.
      if (app.state === 'active' && row.calls7d > 0) {
        const top = await deps.usage.topEndpoints(app.appId, days7, 10);
        row.topEndpoints = top.map((e) => ({ key: e.key, count: e.count }));
        const guess = guessIntegrations({ appName: app.name, endpoints: row.topEndpoints })[0];
        if (guess) row.integration = guess.label;
      }
      if (app.state === 'disabled' && app.disabledAt !== undefined && s?.lastFailure !== undefined && s.lastFailure > app.disabledAt) {
        row.failsSinceDisable = (await deps.usage.failuresSince(app.appId, app.disabledAt, now)).count;
      }
      return row;
    }),
  );

  const model: DigestModel = {
    apps,
    accounts: deps.accounts,
    health,
    pending: [],
    operatorSteps: [],
    failedExecutions: [],
    requestsKnown: requests !== null || !deps.requests,
    slackProblems: slackProblems.map((p) => (p.count > 1 ? `${p.sentence} (${p.count} times)` : p.sentence)),
    changes: changes.map((e) => ({ type: e.type, at: e.at, summary: e.summary, ...(e.actor ? { actor: e.actor } : {}), ...(e.appId ? { appId: e.appId } : {}) })),
    candidates: candidates.length,
    candidateList: candidates,
    soakPeriodMs: deps.soakPeriodMs,
    pollEveryMs: deps.pollEveryMs,
    mode: deps.mode,
    ...(deps.warnings?.length ? { warnings: deps.warnings } : {}),
    date,
    ...(auditHead ? { auditHead } : {}),
    daily: sumDaily(chartDays, await perApp),
  };
  for (const req of requests ?? []) {
    if (req.status === 'pending' && req.expiresAt > now) model.pending.push(req);
    else if (req.status === 'awaiting_operator') model.operatorSteps.push(req);
    else if ((req.status === 'failed' || req.status === 'aborted') && (req.decidedAt ?? req.createdAt) >= now - DAY_MS) model.failedExecutions.push(req);
  }
  if (yesterday) {
    try {
      model.yesterday = JSON.parse(yesterday) as DigestCounts;
    } catch {
      // A malformed record only costs the "since yesterday" deltas.
    }
  }
  return model;
}

/**
 * Posts today's digest, or edits the message already posted for that local date.
 * `at` is the instant the run stands for (see digestInstant); defaults to now.
 */
export async function runDigest(deps: DigestDeps, opts: { at?: number; actor?: string } = {}): Promise<DigestRunResult> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = deps.clock();
  const date = digestDate(opts.at ?? now, deps.tz);
  const days = createDigestDayStore(deps.redis, deps.keys);
  const model = await collectDigest(deps, now, date);
  const msg = renderDigest(model, now, deps.tz);
  const counts = JSON.stringify(digestCounts(model));
  const token = randomUUID();
  const log = deps.log.child({ digestDate: date });

  for (let waited = 0; ; waited += WAIT_STEP_MS) {
    const claim = await days.claim(date, token, now, POSTING_TTL_MS);
    if (claim.state === 'claimed') {
      let res: { channel?: string; ts?: string };
      try {
        res = await sendWithFallback(msg, deps.native, (m) => deps.slack.chat.postMessage({ channel: deps.channel, text: m.text, blocks: m.blocks ?? [], unfurl_links: false }), () =>
          log.info('Slack refused the native chart; posted the text fallback and remembered it for this install'),
        );
      } catch (err) {
        // Every failure, not only Slack's own error answers: see the header. The attempt still
        // fails, so BullMQ retries it with backoff.
        await days.release(date, token);
        log.warn({ err: { message: (err as Error).message }, refused: slackRefused(err) }, 'digest post failed; claim released for the retry');
        throw err;
      }
      const channel = res.channel ?? deps.channel;
      const ts = String(res.ts ?? '');
      const stored = await days.record(date, token, { channel, ts, counts }, now, DAY_RECORD_TTL_MS);
      if (!stored) log.warn('digest claim expired before the post was stored; a later run may post again');
      await deps.audit.append({
        type: 'digest.posted',
        actor: opts.actor ?? 'system',
        summary: `Daily digest for ${date} posted`,
        details: { date, channel, ts, tracked: model.apps.length },
      });
      log.info({ channel, ts }, 'digest posted');
      return { date, action: 'posted', channel, ts };
    }
    if (claim.state === 'posted') {
      const channel = claim.channel ?? deps.channel;
      const ts = claim.ts ?? '';
      try {
        await sendWithFallback(msg, deps.native, (m) => deps.slack.chat.update({ channel, ts, text: m.text, blocks: m.blocks ?? [] }));
      } catch (err) {
        if ((err as { data?: { error?: string } }).data?.error !== 'message_not_found') throw err;
        // Someone deleted today's digest: forget it, and the next pass of this loop posts anew.
        log.warn({ channel, ts }, "today's digest message is gone; posting it again");
        await days.forget(date);
        continue;
      }
      await days.updated(date, counts, now);
      log.info({ channel, ts }, 'digest updated');
      return { date, action: 'updated', channel, ts };
    }
    if (waited >= WAIT_FOR_POST_MS) throw new DigestBusyError(date);
    await sleep(WAIT_STEP_MS);
  }
}
