/**
 * What both sides of the usage store share (usageIngest.ts writes, usageRead.ts reads): the key
 * layout and its builders, the units and caps both count in, and the entry types both see.
 *
 * Memory grows with app-days and endpoints, never with entries:
 *  - `{p}:usage:<appId>:<YYYY-MM-DD>` hash per UTC day: `n` total, `c:<class>` per status class,
 *    `e:<key>` calls, `x:<key>` errors (4xx/5xx), `f:<key>` / `l:<key>` first / last seen (ms)
 *    per endpoint key (`GET /users/{userId}/meetings`). Expires 400 days after the day.
 *  - `{p}:hours:<appId>` hash of hourly counters (hour index = ms / 3 600 000): `t:<h>` total,
 *    `s:<h>` successes (2xx/3xx), `e:<h>` failures (4xx/5xx), `x:<h>:<key>` failures per
 *    endpoint. Fields older than 15 days are trimmed when a read completes.
 *  - `{p}:usage:<appId>` summary hash (`lastCall`, `lastSuccess`, `lastFailure`, `firstSeen`,
 *    `ingested`, `late`, `lateAt`), `{p}:families:<appId>` set, `{p}:sample:<appId>` the 200
 *    newest raw entries.
 *  - `{p}:readstate:<appId>` (with the last complete read's quality: `qdis`, `qheld`, `qbad`,
 *    `qlate`, `lastClean`) and two dedupe sorted sets (trace_id, or a fingerprint of time, method,
 *    url and status when Zoom gave none → entry time): `{p}:seen:<appId>:top`, which keeps the
 *    6-hour late-arrival lookback (at most 10,000 ids), and `{p}:seen:<appId>:floor`, bounded by
 *    a 10-minute window (see the page script in usageIngest.ts for the invariants). Exception: a
 *    read of a listing that is not newest first keeps every id it folds in seen:top until it
 *    completes.
 */
import type { Keys } from '../../../platform/redis/keys';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
/** Hourly counters are kept this long (hours): enough for "last 7 days vs the 7 before". */
export const HOURS_KEPT = 15 * 24;
export const SAMPLE_CAP = 200;

export type StatusClassName = '2xx' | '3xx' | '4xx' | '5xx' | 'other';

export interface SampleEntry {
  time: number;
  method: string;
  /** Endpoint key (`GET /users/{userId}/meetings`). */
  key: string;
  /** Zoom's `url_pattern`, clipped to 300 characters. */
  url: string;
  status: number;
  traceId: string;
}

/** What the last complete read of an app met (SPEC §4.3): anything but zeros is degraded evidence. */
export interface ReadQuality {
  /** Some page was not newest first: the window was read whole. */
  unordered: boolean;
  /** Entries dated later than now plus the skew: not counted, not moving the watermark. */
  heldBack: number;
  /** Entries Zoom sent that could not be read (no readable time): dropped. */
  unreadable: number;
  /** Entries counted although Zoom published them after an earlier read passed their time. */
  late: number;
}

/** The keys of one app's usage (the layout above). */
export function usageKeys(keys: Keys) {
  return {
    day: (appId: string, day: string) => keys.k('usage', appId, day),
    summary: (appId: string) => keys.k('usage', appId),
    hours: (appId: string) => keys.k('hours', appId),
    families: (appId: string) => keys.k('families', appId),
    sample: (appId: string) => keys.k('sample', appId),
    readstate: (appId: string) => keys.k('readstate', appId),
    seenTop: (appId: string) => keys.k('seen', appId, 'top'),
    seenFloor: (appId: string) => keys.k('seen', appId, 'floor'),
    lock: (appId: string) => keys.k('readlock', appId),
  };
}

export const num = (v: string | null | undefined): number | undefined => {
  if (v === null || v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
};

/**
 * An app's usage keys without a lifetime of their own (day hashes expire by themselves), which
 * untracking the app gives one and tracking it again takes off (store/apps.ts). The trace-id
 * dedupe keys (`seen:*`) are left to the dedupe's own rules.
 */
export function appUsageKeys(keys: Keys, appId: string): string[] {
  return [keys.k('usage', appId), keys.k('hours', appId), keys.k('families', appId), keys.k('sample', appId), keys.k('readstate', appId)];
}
