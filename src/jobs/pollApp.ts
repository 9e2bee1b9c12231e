/**
 * The incremental read of one app's call logs (SPEC §4.3).
 *
 * Zoom has no from/to for call logs: only `duration` (7, 14 or 30 days back from now) and
 * pagination. We assume, as observed, that Zoom lists entries newest first. A read therefore
 * starts at the newest page and walks down until a page reaches below the cutoff (the newest
 * entry of the last complete read minus a 10-minute overlap) or the pages run out.
 *
 * Each page is folded by one Lua script together with the read state (see store/usage.ts), so
 * the read can stop anywhere (crash, Daily-limit pause, expired page token, `maxPages`) and the
 * next poll resumes: with the stored page token while it is still valid (Zoom: 15 minutes),
 * otherwise from the newest page again, skipping the zone already folded. Nothing is counted
 * twice and nothing is lost.
 */
import { normaliseEndpoint, statusClass } from '../domain/endpoints';
import { utcDay } from '../domain/format';
import type { Logger } from '../log';
import { ZoomError, ZoomPausedError, ZOOM_CODES } from '../zoom/errors';
import type { LogDuration, ZoomApi, ZoomCallLog } from '../zoom/types';
import {
  DAY_MS,
  HOUR_MS,
  OVERLAP_MS,
  type FoldEntry,
  type ReadState,
  type UsageStore,
} from '../store/usage';

/** Zoom's maximum page size for call logs. */
export const CALL_LOG_PAGE_SIZE = 100;
/** A stored page token is reused while younger than this (ms); Zoom's tokens live 15 minutes. */
export const TOKEN_REUSE_MS = 14 * 60_000;
const DURATIONS: LogDuration[] = [7, 14, 30];
const MAX_URL_IN_SAMPLE = 300;

export interface PollAppResult {
  appId: string;
  /** Pages folded. */
  pages: number;
  /** Call-log requests made (the client's own retries not counted). */
  requests: number;
  /** Entries folded into the aggregates. */
  ingested: number;
  /** Entries seen but not folded (older than the cutoff, already folded, unreadable). */
  skipped: number;
  newFamilies: string[];
  /** The read reached its end; false when it stopped early and will resume. */
  complete: boolean;
  /** Another poll of this app holds the read lock; nothing was done. */
  busy?: boolean;
  error?: ZoomError;
}

export interface PollAppDeps {
  zoom: ZoomApi;
  usage: UsageStore;
  clock: () => number;
  log: Logger;
  appId: string;
  /** Stop after this many pages (the read stays resumable). */
  maxPages?: number;
}

/** The smallest `duration` that reaches back to the last complete read, overlap included. */
export function chooseDuration(state: ReadState, now: number): LogDuration {
  if (state.lastComplete === undefined) return 30;
  const needMs = now - state.lastComplete + OVERLAP_MS;
  return DURATIONS.find((d) => d * DAY_MS >= needMs) ?? 30;
}

/** One raw entry → what the page script folds; null for entries that cannot be read. */
export function toFoldEntry(e: ZoomCallLog): FoldEntry | null {
  const time = Number(e.time);
  if (!Number.isFinite(time) || time <= 0 || typeof e.trace_id !== 'string' || e.trace_id === '') return null;
  const ep = normaliseEndpoint(String(e.url_pattern ?? ''), String(e.method ?? ''));
  const status = Number(e.http_status);
  return {
    traceId: e.trace_id,
    time,
    day: utcDay(time),
    hour: Math.floor(time / HOUR_MS),
    statusClass: statusClass(status),
    endpointKey: ep.key,
    family: ep.family,
    sample: {
      time,
      method: ep.method,
      key: ep.key,
      url: String(e.url_pattern ?? '').slice(0, MAX_URL_IN_SAMPLE),
      status: Number.isFinite(status) ? status : 0,
      traceId: e.trace_id,
    },
  };
}

export async function pollApp(deps: PollAppDeps): Promise<PollAppResult> {
  const { zoom, usage, clock, appId } = deps;
  const log = deps.log.child({ appId });
  const result: PollAppResult = { appId, pages: 0, requests: 0, ingested: 0, skipped: 0, newFamilies: [], complete: false };
  const lockToken = await usage.acquireReadLock(appId);
  if (lockToken === null) {
    log.info('call-log read skipped: another poll of this app is running');
    return { ...result, busy: true };
  }
  const started = clock();
  try {
    const state = await usage.readState(appId);
    const now = clock();
    const cutoff = state.watermark === undefined ? 0 : state.watermark - OVERLAP_MS;
    const inProgress = state.inProgress;
    let token: string | undefined;
    let duration = chooseDuration(state, now);
    if (inProgress?.token && inProgress.tokenAt !== undefined && now - inProgress.tokenAt < TOKEN_REUSE_MS) {
      token = inProgress.token;
      duration = (DURATIONS as number[]).includes(inProgress.duration ?? 0) ? (inProgress.duration as LogDuration) : duration;
    }
    let firstOfAttempt = token === undefined;
    let restarted = false;
    if (inProgress) log.debug({ resumeWithToken: token !== undefined }, 'resuming an interrupted call-log read');

    for (;;) {
      if (deps.maxPages !== undefined && result.pages >= deps.maxPages) break;
      let page;
      try {
        result.requests++;
        page = await zoom.listCallLogs(appId, {
          duration,
          pageSize: CALL_LOG_PAGE_SIZE,
          ...(token !== undefined ? { nextPageToken: token } : {}),
        });
      } catch (err) {
        if (token !== undefined && !restarted && err instanceof ZoomError && err.code === ZOOM_CODES.invalidNextPageToken) {
          // The token expired under us: read again from the newest page; the state skips what is folded.
          log.info('call-log page token expired; restarting the read from the newest page');
          restarted = true;
          token = undefined;
          firstOfAttempt = true;
          duration = chooseDuration(state, clock());
          continue;
        }
        if (err instanceof ZoomError) {
          // A pause the client already knew about (no HTTP status) sent nothing.
          if (err instanceof ZoomPausedError && err.status === undefined) result.requests--;
          result.error = err;
          break;
        }
        throw err;
      }
      const entries: FoldEntry[] = [];
      for (const raw of page.entries) {
        const e = toFoldEntry(raw);
        if (e) entries.push(e);
        else result.skipped++;
      }
      result.skipped += page.skipped ?? 0;
      const folded = await usage.foldPage({
        appId,
        entries,
        cutoff,
        firstOfAttempt,
        nextPageToken: page.nextPageToken,
        duration,
        now: clock(),
        lockToken,
      });
      firstOfAttempt = false;
      result.pages++;
      result.ingested += folded.folded;
      result.skipped += folded.skipped;
      for (const f of folded.newFamilies) if (!result.newFamilies.includes(f)) result.newFamilies.push(f);
      if (folded.complete) {
        result.complete = true;
        break;
      }
      token = page.nextPageToken;
    }
  } finally {
    await usage.releaseReadLock(appId, lockToken);
  }
  log.info(
    {
      pages: result.pages,
      requests: result.requests,
      ingested: result.ingested,
      skipped: result.skipped,
      complete: result.complete,
      ms: clock() - started,
      ...(result.error ? { err: { kind: result.error.kind, message: result.error.message } } : {}),
    },
    'call-log read finished',
  );
  return result;
}
