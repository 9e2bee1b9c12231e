/**
 * The incremental read of one app's call logs (SPEC §4.3).
 *
 * Zoom has no from/to for call logs: only `duration` (7, 14 or 30 days back from now) and
 * pagination, and neither its schema nor its SDK says in which order entries come. A read starts
 * at the first page and checks the order of every page (newest first within the page and after
 * the page before). While it holds, the read walks down until a page reaches below the cutoff
 * (the newest entry of the last complete read minus a 10-minute overlap). Once it does not, the
 * read follows the page tokens to the end of the window (read whole), and the app is read whole
 * until a read finds its listing in order again. A read is complete only then: a page without a
 * usable entry keeps the state and follows its token.
 *
 * Entries are deduplicated by trace id, or by a fingerprint (time, method, url, status) when Zoom
 * gave none. Entries below the cutoff but within the 6-hour lookback that no read counted yet
 * (Zoom published them late) are counted as late arrivals. Entries dated more than FUTURE_SKEW_MS
 * after now are held back: not counted and not moving the watermark, so one bad timestamp cannot
 * stop counting; they count once their time has come. Held-back and unreadable entries, and an
 * out-of-order listing, make the read's evidence degraded (store/usage.ts ReadQuality).
 *
 * Each page is folded by one Lua script together with the read state (see store/usage.ts), so
 * the read can stop anywhere (crash, Daily-limit pause, expired page token, `maxPages`) and the
 * next poll resumes: with the stored page token while it is still valid (Zoom: 15 minutes),
 * otherwise from the newest page again, skipping the zone already folded. Nothing is counted
 * twice and nothing is lost.
 *
 * Speed (the bench's ingest figure): while a page folds in Redis, the next page is already being
 * fetched, but only when the page cannot end the read (a next token, and every entry at or above
 * the cutoff or the read reading whole), so the prefetch never spends a request the read would
 * not have made.
 */
import { normaliseEndpoint, statusClass } from '../rules/endpoints';
import { utcDay } from '../../../kernel/format';
import type { Logger } from '../../../log';
import { ZoomError, ZoomPausedError, ZOOM_CODES } from '../../../platform/zoom/errors';
import type { CallLogPage, LogDuration, ZoomApi, ZoomCallLog } from '../../../platform/zoom/types';
import { DAY_MS, HOUR_MS, SAMPLE_CAP } from '../stores/usageKeys';
import { OVERLAP_MS, type FoldEntry, type ReadState } from '../stores/usageIngest';
import { type UsageStore } from '../stores/usage';
import type { Clock } from '../../../kernel/clock';

/** Zoom's maximum page size for call logs. */
export const CALL_LOG_PAGE_SIZE = 100;
/** A stored page token is reused while younger than this (ms); Zoom's tokens live 15 minutes. */
export const TOKEN_REUSE_MS = 14 * 60_000;
/** Entries dated later than now plus this (ms) are held back: clocks differ, years do not. */
export const FUTURE_SKEW_MS = 5 * 60_000;
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
  /** Entries seen but not folded (older than the cutoff, already folded, unreadable, held back). */
  skipped: number;
  /** Entries counted although Zoom published them after an earlier read passed their time. */
  late: number;
  /** Entries dated in the future (not counted) and entries that could not be read (dropped). */
  heldBack: number;
  unreadable: number;
  /** Some page was not newest first: the window is being read whole. */
  unordered: boolean;
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
  clock: Clock;
  log: Logger;
  appId: string;
  /** Stop after this many pages (the read stays resumable). */
  maxPages?: number;
  /**
   * How far below the newest entry already seen the read still looks (ms); default OVERLAP_MS.
   * The hourly read of an app whose usage figures Zoom says are unchanged uses 0: it checks the
   * top of the listing for calls the figures did not show yet, in one page.
   */
  overlapMs?: number;
  /** Stops the read before its next page (a sibling app's read failed); it resumes next poll. */
  signal?: AbortSignal;
  /** Called at once when the read fails with anything but a ZoomError, before it cleans up. */
  onFailure?: () => void;
}

/** The smallest `duration` that reaches back to the last complete read, overlap included. */
export function chooseDuration(state: ReadState, now: number): LogDuration {
  if (state.lastComplete === undefined) return 30;
  const needMs = now - state.lastComplete + OVERLAP_MS;
  return DURATIONS.find((d) => d * DAY_MS >= needMs) ?? 30;
}

// The last UTC day formatted: a page's entries share one or two days, and formatting is per entry.
let memoDayNumber = Number.NaN;
let memoDay = '';
function dayOf(time: number): string {
  const n = Math.floor(time / DAY_MS);
  if (n !== memoDayNumber) {
    memoDay = utcDay(time);
    memoDayNumber = n;
  }
  return memoDay;
}

/**
 * The newest distinct entries a read has seen (trace id → time), at most SAMPLE_CAP of them, and
 * the time below which an entry can no longer enter the stored sample of the SAMPLE_CAP newest.
 */
class SampleHorizon {
  private newest = new Map<string, number>();
  floor = Number.NEGATIVE_INFINITY;
  see(entries: readonly FoldEntry[]): void {
    let added = false;
    for (const e of entries) {
      // Older than the floor: it cannot be among the newest, and the floor cannot move for it.
      if (e.time < this.floor) continue;
      this.newest.set(e.traceId, e.time);
      added = true;
    }
    if (!added || this.newest.size < SAMPLE_CAP) return;
    const kept = [...this.newest].sort((a, b) => b[1] - a[1]).slice(0, SAMPLE_CAP);
    this.newest = new Map(kept);
    this.floor = kept[kept.length - 1]![1];
  }
}

/**
 * The dedupe key of an entry: its trace id, or, when Zoom gave none (every field is optional in
 * its schema), a fingerprint of what it did give. Two calls without trace ids at the same
 * millisecond with the same method, url and status count once: nothing can tell them apart.
 */
export function dedupeKey(e: ZoomCallLog, time: number): string {
  if (typeof e.trace_id === 'string' && e.trace_id !== '') return e.trace_id;
  return `fp:${time}|${e.method ?? ''}|${e.url_pattern ?? ''}|${e.http_status ?? ''}`;
}

/** One raw entry → what the page script folds; null for entries that cannot be read. */
export function toFoldEntry(e: ZoomCallLog): FoldEntry | null {
  const time = Number(e.time);
  if (!Number.isFinite(time) || time <= 0) return null;
  const traceId = dedupeKey(e, time);
  const ep = normaliseEndpoint(String(e.url_pattern ?? ''), String(e.method ?? ''));
  const status = Number(e.http_status);
  return {
    traceId,
    time,
    day: dayOf(time),
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
      traceId: e.trace_id ?? '',
    },
  };
}

/**
 * A page with its entries normalised, in Zoom's order. `unreadable` counts the raw entries that
 * were dropped (by the client or here), `heldBack` those dated after `futureBound`.
 */
interface ReadPage {
  nextPageToken: string;
  entries: FoldEntry[];
  unreadable: number;
  heldBack: number;
}

function readPage(page: CallLogPage, futureBound: number): ReadPage {
  const entries: FoldEntry[] = [];
  let unreadable = page.skipped ?? 0;
  let heldBack = 0;
  for (const raw of page.entries) {
    const e = toFoldEntry(raw);
    if (!e) unreadable++;
    else if (e.time > futureBound) heldBack++;
    else entries.push(e);
  }
  return { nextPageToken: page.nextPageToken, entries, unreadable, heldBack };
}

/** Newest first within the page, and not newer than the oldest entry of the page before. */
export function isNewestFirst(entries: readonly FoldEntry[], previousPageMin: number | undefined): boolean {
  let prev = previousPageMin ?? Number.POSITIVE_INFINITY;
  for (const e of entries) {
    if (e.time > prev) return false;
    prev = e.time;
  }
  return true;
}

/** Whether the page script will ask for the next page (the same test as its `complete`, negated). */
function continues(page: ReadPage, cutoff: number, whole: boolean): boolean {
  if (page.nextPageToken === '') return false;
  if (whole) return true;
  for (const e of page.entries) if (e.time < cutoff) return false;
  return true;
}

export async function pollApp(deps: PollAppDeps): Promise<PollAppResult> {
  const { zoom, usage, clock, appId } = deps;
  const log = deps.log.child({ appId });
  const result: PollAppResult = {
    appId, pages: 0, requests: 0, ingested: 0, skipped: 0, late: 0, heldBack: 0, unreadable: 0, unordered: false, newFamilies: [], complete: false,
  };
  const lockToken = await usage.acquireReadLock(appId);
  if (lockToken === null) {
    log.info('call-log read skipped: another poll of this app is running');
    return { ...result, busy: true };
  }
  const started = clock();
  let prefetched: { token: string; page: Promise<ReadPage> } | undefined;
  try {
    const state = await usage.readState(appId);
    const now = clock();
    const cutoff = state.watermark === undefined ? 0 : state.watermark - (deps.overlapMs ?? OVERLAP_MS);
    const inProgress = state.inProgress;
    // The cutoff the page script applies: an interrupted read keeps its own.
    const effectiveCutoff = inProgress?.cutoff ?? cutoff;
    const horizon = new SampleHorizon();
    // Entries are normalised as soon as the page arrives: for a prefetched page, while the
    // previous one is still folding in Redis.
    const fetchPage = (pageToken: string | undefined): Promise<ReadPage> => {
      result.requests++;
      return zoom
        .listCallLogs(appId, {
          duration,
          pageSize: CALL_LOG_PAGE_SIZE,
          ...(pageToken !== undefined ? { nextPageToken: pageToken } : {}),
        })
        .then((page) => readPage(page, clock() + FUTURE_SKEW_MS));
    };
    let token: string | undefined;
    let duration = chooseDuration(state, now);
    if (inProgress?.token && inProgress.tokenAt !== undefined && now - inProgress.tokenAt < TOKEN_REUSE_MS) {
      token = inProgress.token;
      duration = (DURATIONS as number[]).includes(inProgress.duration ?? 0) ? (inProgress.duration as LogDuration) : duration;
    }
    let firstOfAttempt = token === undefined;
    let restarted = false;
    // Reading whole: this read met a page out of order, or the app's listing was out of order before.
    let whole = inProgress ? inProgress.unordered : state.readWhole === true;
    // The order check of the next page: the oldest entry of the page before, in this attempt.
    let previousMin = token !== undefined ? inProgress?.lastPageMin : undefined;
    if (inProgress) log.debug({ resumeWithToken: token !== undefined }, 'resuming an interrupted call-log read');

    for (;;) {
      if (deps.maxPages !== undefined && result.pages >= deps.maxPages) break;
      if (deps.signal?.aborted) break;
      let page;
      try {
        const ahead = prefetched !== undefined && prefetched.token === token ? prefetched.page : undefined;
        prefetched = undefined;
        page = await (ahead ?? fetchPage(token));
      } catch (err) {
        if (token !== undefined && !restarted && err instanceof ZoomError && err.code === ZOOM_CODES.invalidNextPageToken) {
          // The token expired under us: read again from the newest page; the state skips what is folded.
          log.info('call-log page token expired; restarting the read from the newest page');
          restarted = true;
          token = undefined;
          previousMin = undefined;
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
      const { entries } = page;
      result.skipped += page.unreadable + page.heldBack;
      result.unreadable += page.unreadable;
      result.heldBack += page.heldBack;
      const ordered = isNewestFirst(entries, previousMin);
      if (!ordered) whole = true;
      if (entries.length) previousMin = Math.min(...entries.map((e) => e.time));
      horizon.see(entries);
      if (continues(page, effectiveCutoff, whole) && (deps.maxPages === undefined || result.pages + 1 < deps.maxPages) && !deps.signal?.aborted) {
        const next = fetchPage(page.nextPageToken);
        // Awaited on the next turn of the loop; a fold that throws first must not leave it unhandled.
        next.catch(() => undefined);
        prefetched = { token: page.nextPageToken, page: next };
      }
      const folded = await usage.foldPage({
        appId,
        entries,
        cutoff,
        firstOfAttempt,
        nextPageToken: page.nextPageToken,
        duration,
        now: clock(),
        lockToken,
        ordered,
        heldBack: page.heldBack,
        unreadable: page.unreadable,
        sampleFloor: horizon.floor,
      });
      whole = folded.unordered;
      result.unordered ||= folded.unordered;
      result.late += folded.late;
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
  } catch (err) {
    deps.onFailure?.();
    throw err;
  } finally {
    // A page fetched ahead and never used (the read stopped): the read ends only once it is answered.
    if (prefetched) await prefetched.page.catch(() => undefined);
    await usage.releaseReadLock(appId, lockToken);
  }
  log.info(
    {
      pages: result.pages,
      requests: result.requests,
      ingested: result.ingested,
      skipped: result.skipped,
      late: result.late,
      heldBack: result.heldBack,
      unreadable: result.unreadable,
      unordered: result.unordered,
      complete: result.complete,
      ms: clock() - started,
      ...(result.error ? { err: { kind: result.error.kind, message: result.error.message } } : {}),
    },
    'call-log read finished',
  );
  return result;
}
