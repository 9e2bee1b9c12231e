/**
 * One account's poll (SPEC §4.2, §4.3): the body of the BullMQ poll job.
 *
 *  1. list the account's created apps: untracked ones become candidates, tracked ones get their
 *     current name/type/status;
 *  2. for each tracked app of the account (not removed, not already gone): read its info (404/1401
 *     → the app was removed outside the bot: mark `goneAt` once and emit `app_gone`), then read its
 *     call logs incrementally (pollApp);
 *  3. record the poll's health, success or failure, so a failing poll is never silent.
 *
 * Zoom errors end in health and in the returned summary, never as a throw; an auth error or a
 * Daily-limit pause stops the rest of the poll (every further call would fail the same way).
 * Anything else (Redis down, a bug) is recorded too, then rethrown so the job fails visibly.
 * Either way the other apps' reads stop before their next page (one shared abort), and the poll
 * ends only when every read has: nothing calls Zoom after the job (and its lock) is gone.
 *
 * When the list carries Zoom's usage fields for an app (changelog 2026-11-09), the list also
 * vouches that the app exists (no Get app), and its call logs are read only when the fields say it
 * was used since the list before the last complete read (a later `last_used`, other totals), when
 * a read is unfinished, or when the last complete read is FULL_READ_EVERY_MS old: a lagging or
 * lying field delays evidence by at most that, and each read keeps all of pollApp's rules. An app
 * missing from the list gets the Get app lookup (removed, or only not listed?); without the
 * fields, polling works as before.
 *
 * Apps are read in a rotating order (a different first app each poll), each read spending at most
 * PAGES_PER_APP_PER_POLL pages, so a big backfill resumes over several polls instead of starving
 * the apps behind it.
 */
import type { CandidateApp, TrackedApp, ZoomUsageRecord } from '../rules/app';
import type { Logger } from '../../../log';
import type { AppStore } from '../stores/apps';
import type { HealthStore } from '../stores/health';
import { HOUR_MS } from '../stores/usageKeys';
import { type ReadState } from '../stores/usageIngest';
import { type UsageStore } from '../stores/usage';
import { ZoomError, ZoomPausedError } from '../../../platform/zoom/errors';
import type { ZoomApi, ZoomAppInfo, ZoomAppSummary, ZoomAppUsage } from '../../../platform/zoom/types';
import { pollApp } from './pollApp';
import type { Clock } from '../../../kernel/clock';

export type PollEvent =
  | { type: 'app_gone'; account: string; appId: string; name: string }
  /** Families of endpoints the app had never called before (not emitted for an app's first read). */
  | { type: 'new_family'; account: string; appId: string; name: string; families: string[] }
  /** A poll of the account ended (success or not): evidence checks (alerts) run on it. */
  | { type: 'poll_completed'; account: string; appId?: undefined };

export interface PollError {
  /** Absent for account-level steps (listing apps). */
  appId?: string;
  /** ZoomError kind, or 'internal'. */
  kind: string;
  /** A sentence for people. */
  message: string;
}

export interface PollAccountResult {
  account: string;
  /** Tracked apps whose call logs were read. */
  apps: number;
  /** Tracked apps not read because Zoom's usage fields said nothing new (and a full read is recent). */
  idle: number;
  /** API requests spent. */
  requests: number;
  ingested: number;
  /** Entries counted late, held back (future) and dropped (unreadable), over all apps. */
  late: number;
  heldBack: number;
  unreadable: number;
  /** Every tracked app's read reached its end. */
  complete: boolean;
  errors: PollError[];
  pausedUntil?: number;
}

export interface PollAccountDeps {
  /** Account name (config), the key of its health record. */
  account: string;
  /** A ZoomClient's `stats()` gives the exact request count (retries included) when present. */
  zoom: ZoomApi & { stats?: () => { requests: number } };
  apps: AppStore;
  usage: UsageStore;
  health: HealthStore;
  clock: Clock;
  log: Logger;
  onEvent?: (event: PollEvent) => void | Promise<void>;
  /** Per app, stop each read after this many pages (it resumes next poll). */
  maxPagesPerApp?: number;
}

/** Apps of one account read at the same time. */
export const APPS_IN_PARALLEL = 3;
/**
 * Default page budget of one app's read per poll (100 entries a page): 200,000 entries, a month
 * of a busy app, so a normal read never meets it; a bigger backfill resumes next poll.
 */
export const PAGES_PER_APP_PER_POLL = 2_000;
/** With Zoom's usage fields, an app's call logs are still read to the end at least this often (ms). */
export const FULL_READ_EVERY_MS = HOUR_MS;
/** Slack of that hour: a read finishes a little after its poll starts, the poll an hour later must not miss it. */
const FULL_READ_GRACE_MS = 2 * 60_000;

const HOURLY_REASON = 'the last full read is an hour old';

type AtRead = NonNullable<ZoomUsageRecord['atRead']>;
/** A `last_used` later than the one listed before the last complete read. */
const usedSince = (usage: ZoomAppUsage, atRead: AtRead): boolean =>
  usage.lastUsed !== undefined && (atRead.lastUsed === undefined || usage.lastUsed > atRead.lastUsed);
/** Whether Zoom's figures are the same as before the last complete read (nothing used since). */
function usageUnchanged(usage: ZoomAppUsage, atRead: ZoomUsageRecord['atRead']): boolean {
  return atRead !== undefined && !usedSince(usage, atRead) && usage.totalCalls === atRead.totalCalls && usage.failedCalls === atRead.failedCalls;
}

/**
 * Why the call logs of an app the list gave usage for must be read now, or null when they need not
 * be: nothing used since the list before the last complete read, and that read is recent.
 */
export function readReason(state: ReadState, usage: ZoomAppUsage, atRead: ZoomUsageRecord['atRead'], now: number): string | null {
  if (state.lastComplete === undefined) return 'never read to the end';
  if (state.inProgress) return 'a read is unfinished';
  if (now - state.lastComplete >= FULL_READ_EVERY_MS - FULL_READ_GRACE_MS) return HOURLY_REASON;
  if (!atRead) return 'no usage figures from before the last read';
  if (usageUnchanged(usage, atRead)) return null;
  return usedSince(usage, atRead) ? 'used since the last read' : "Zoom's totals changed";
}


const usageAtRead = (u: ZoomAppUsage): NonNullable<ZoomUsageRecord['atRead']> => ({
  ...(u.lastUsed !== undefined ? { lastUsed: u.lastUsed } : {}),
  ...(u.totalCalls !== undefined ? { totalCalls: u.totalCalls } : {}),
  ...(u.failedCalls !== undefined ? { failedCalls: u.failedCalls } : {}),
});

const INTERNAL_SENTENCE = 'an internal error stopped the poll (details are in the worker logs)';

/** Errors after which nothing else in this account can work in this poll. */
const stopsPoll = (err: ZoomError) => err instanceof ZoomPausedError || err.kind === 'paused' || err.kind === 'auth';

export async function pollAccount(deps: PollAccountDeps): Promise<PollAccountResult> {
  const { account, zoom, apps, usage, health, clock } = deps;
  const log = deps.log.child({ account, job: 'poll' });
  const started = clock();
  const requestsBefore = zoom.stats?.().requests;
  let counted = 0;
  const result: PollAccountResult = { account, apps: 0, idle: 0, requests: 0, ingested: 0, late: 0, heldBack: 0, unreadable: 0, complete: true, errors: [] };
  const zoomErrors: ZoomError[] = [];
  let internal: unknown;
  // One app's failure stops its siblings before their next page.
  const abort = new AbortController();

  const fail = (err: ZoomError, appId?: string) => {
    // Apps read in parallel can meet the same account-wide stop (a pause, refused credentials)
    // at once: that is one problem, reported once.
    if (stopsPoll(err) && result.errors.some((e) => e.kind === err.kind)) return;
    zoomErrors.push(err);
    result.errors.push({ ...(appId !== undefined ? { appId } : {}), kind: err.kind, message: err.explain() });
    if (err instanceof ZoomPausedError) result.pausedUntil = err.until;
    log.warn({ appId, err: { kind: err.kind, message: err.message } }, 'zoom call failed during poll');
  };
  const emit = async (event: PollEvent) => {
    try {
      await deps.onEvent?.(event);
    } catch (err) {
      log.error({ err, event: event.type, appId: event.appId }, 'poll event handler failed');
    }
  };

  await health.recordStart(account, started);
  try {
    const listedTracked = (await apps.list()).filter((a) => a.account === account);
    const turn = listedTracked.length ? (await health.nextTurn(account)) % listedTracked.length : 0;
    const tracked = [...listedTracked.slice(turn), ...listedTracked.slice(0, turn)];
    let stopped = false;
    // Listed apps by id; null when the list failed (then every app gets its Get app, as before).
    let listedById: Map<string, ZoomAppSummary> | null = null;
    let usageRecords = new Map<string, ZoomUsageRecord>();

    // 1. Created apps → candidates, and fresh names for tracked ones.
    try {
      counted++;
      const listed = await zoom.listApps();
      await refreshFromList(apps, account, tracked, listed, clock());
      listedById = new Map(listed.map((z) => [z.app_id, z]));
      if (listed.some((z) => z.usage)) usageRecords = await apps.zoomUsage(tracked.map((a) => a.appId));
    } catch (err) {
      if (!(err instanceof ZoomError)) throw err;
      fail(err);
      stopped = stopsPoll(err);
    }

    // 2. Each tracked app: info, then its call logs. A few apps at a time: one app's read is a
    // chain of round trips (Zoom, then Redis), so overlapping reads keeps both busy. Zoom's
    // per-account QPS limit is shared; the client backs off on a QPS 429.
    const pollOne = async (app: TrackedApp): Promise<void> => {
      if (stopped || abort.signal.aborted) {
        result.complete = false;
        return;
      }
      if (app.state === 'removed' || app.goneAt !== undefined) return;
      // The list carried Zoom's usage for this app: it exists (no Get app), and its figures say
      // whether there is anything to read.
      const zoomUsage = listedById?.get(app.appId)?.usage;
      if (zoomUsage) return pollWithUsage(app, zoomUsage);
      let info: ZoomAppInfo | null;
      try {
        counted++;
        info = await zoom.getApp(app.appId);
      } catch (err) {
        if (!(err instanceof ZoomError)) throw err;
        fail(err, app.appId);
        result.complete = false;
        if (stopsPoll(err)) {
          stopped = true;
          abort.abort();
        }
        return;
      }
      if (info === null) {
        await apps.update(app.appId, { goneAt: clock() });
        log.warn({ appId: app.appId }, 'tracked app no longer exists in Zoom');
        await emit({ type: 'app_gone', account, appId: app.appId, name: app.name });
        return;
      }
      const changed = changedFields(app, info);
      if (changed) await apps.update(app.appId, changed);
      await readLogs(app, changed?.name ?? app.name);
    };

    const pollWithUsage = async (app: TrackedApp, zoomUsage: ZoomAppUsage): Promise<void> => {
      const record = usageRecords.get(app.appId);
      const now = clock();
      const reason = readReason(await usage.readState(app.appId), zoomUsage, record?.atRead, now);
      if (reason === null) {
        result.idle++;
        await apps.setZoomUsage(app.appId, { ...record, usage: zoomUsage, seenAt: now });
        return;
      }
      log.debug({ appId: app.appId, reason }, 'reading call logs');
      // Read only because an hour has passed, with Zoom's figures unchanged: a check of the top of
      // the listing (new calls the figures lag behind) is enough, without the 10-minute overlap.
      const safetyOnly = reason === HOURLY_REASON && usageUnchanged(zoomUsage, record?.atRead);
      const complete = await readLogs(app, app.name, safetyOnly ? 0 : undefined);
      await apps.setZoomUsage(app.appId, {
        usage: zoomUsage,
        seenAt: now,
        // The figures listed before a read that completed: anything later is news.
        ...(complete ? { atRead: usageAtRead(zoomUsage) } : record?.atRead ? { atRead: record.atRead } : {}),
      });
    };

    /** Reads the app's call logs (pollApp); true when the read completed. */
    const readLogs = async (app: TrackedApp, name: string, overlapMs?: number): Promise<boolean> => {
      const firstRead = (await usage.readState(app.appId)).lastComplete === undefined;
      const read = await pollApp({
        zoom,
        usage,
        clock,
        log,
        appId: app.appId,
        maxPages: deps.maxPagesPerApp ?? PAGES_PER_APP_PER_POLL,
        ...(overlapMs !== undefined ? { overlapMs } : {}),
        signal: abort.signal,
        onFailure: () => abort.abort(),
      });
      result.apps++;
      counted += read.requests;
      result.ingested += read.ingested;
      if (!read.complete) result.complete = false;
      // The first read of an app finds all its families at once: that is a baseline, not news.
      if (read.newFamilies.length && !firstRead) {
        await emit({ type: 'new_family', account, appId: app.appId, name, families: read.newFamilies });
      }
      result.late += read.late;
      result.heldBack += read.heldBack;
      result.unreadable += read.unreadable;
      if (read.error) {
        fail(read.error, app.appId);
        if (stopsPoll(read.error)) {
          stopped = true;
          abort.abort();
        }
      }
      return read.complete;
    };
    let next = 0;
    const loops = await Promise.allSettled(
      Array.from({ length: Math.min(APPS_IN_PARALLEL, tracked.length) }, async () => {
        try {
          while (next < tracked.length && !abort.signal.aborted) await pollOne(tracked[next++]!);
        } catch (err) {
          abort.abort();
          throw err;
        }
      }),
    );
    // Every loop has ended; the first failure is the poll's.
    const failed = loops.find((l): l is PromiseRejectedResult => l.status === 'rejected');
    if (failed) throw failed.reason;
    if (next < tracked.length) result.complete = false;
  } catch (err) {
    internal = err;
    result.complete = false;
    result.errors.push({ kind: 'internal', message: INTERNAL_SENTENCE });
    log.error({ err }, 'poll failed');
  }

  const after = zoom.stats?.().requests;
  result.requests = requestsBefore !== undefined && after !== undefined ? after - requestsBefore : counted;
  const first = result.errors[0];
  const sentence = first && result.errors.length > 1 ? `${first.message} (and ${result.errors.length - 1} more problem${result.errors.length > 2 ? 's' : ''})` : first?.message;
  try {
    await health.recordResult(account, clock(), {
      requests: result.requests,
      ingested: result.ingested,
      ...(first && sentence ? { error: { sentence, kind: first.kind } } : {}),
      ...(result.pausedUntil !== undefined ? { pausedUntil: result.pausedUntil } : {}),
    });
  } catch (err) {
    log.error({ err }, 'could not record poll health');
    if (internal === undefined) internal = err;
  }
  log.info(
    { apps: result.apps, idle: result.idle, requests: result.requests, ingested: result.ingested, complete: result.complete, errors: result.errors.length, ms: clock() - started },
    'poll finished',
  );
  if (internal !== undefined) throw internal as Error;
  return result;
}

function changedFields(app: TrackedApp, z: ZoomAppSummary | ZoomAppInfo): Partial<TrackedApp> | null {
  const out: Partial<TrackedApp> = {};
  if (z.app_name && z.app_name !== app.name) out.name = z.app_name;
  if (z.app_type && z.app_type !== app.appType) out.appType = z.app_type;
  // The list says `UNPUBLISHED`, Get says `unpublished`: the same status, not a change to write.
  if (z.app_status && z.app_status.toLowerCase() !== app.appStatus?.toLowerCase()) out.appStatus = z.app_status;
  return Object.keys(out).length ? out : null;
}

async function refreshFromList(apps: AppStore, account: string, tracked: TrackedApp[], listed: ZoomAppSummary[], now: number): Promise<void> {
  const trackedById = new Map(tracked.map((a) => [a.appId, a]));
  const candidates: CandidateApp[] = [];
  for (const z of listed) {
    const app = trackedById.get(z.app_id);
    if (app) {
      const changed = changedFields(app, z);
      if (changed) {
        await apps.update(app.appId, changed);
        Object.assign(app, changed);
      }
      continue;
    }
    candidates.push({
      appId: z.app_id,
      account,
      name: z.app_name,
      ...(z.app_type ? { appType: z.app_type } : {}),
      ...(z.app_status ? { appStatus: z.app_status } : {}),
      seenAt: now,
      ...(z.usage ? { usage: z.usage } : {}),
    });
  }
  // setCandidates also drops ids tracked under any account.
  await apps.setCandidates(account, candidates);
}
