/**
 * Who is probably calling (issue 17, point 3). Call logs never name the caller, but the concrete
 * ids in `url_pattern` say what it acts on: one service user that every meeting is booked for
 * points at the integration that books them. Computed on demand from the stored sample of the
 * newest SAMPLE_CAP entries (the only place concrete URLs are kept): nothing here is stored.
 *
 * The ids (user ids, emails, meeting and room ids) are personal data: `/zoomjwt app`, the only
 * view that shows them, answers full members only. Pure and total: odd URLs give no target.
 */
import type { SampleEntry } from '../stores/usageKeys';

export type TargetKind = 'user' | 'meeting' | 'webinar' | 'room' | 'group';

export interface CallTarget {
  kind: TargetKind;
  /** As it appears in the URL (percent-decoded), at most MAX_ID characters. */
  id: string;
  /** Sampled calls that touched it. */
  count: number;
}

export interface FailedCall {
  time: number;
  status: number;
  /** Endpoint key (`GET /users/{userId}/meetings`). */
  key: string;
  /** Zoom's trace id, what Zoom support asks for. */
  traceId: string;
}

export interface CallerHints {
  /** Entries the hints come from. */
  sampled: number;
  /** The most touched targets, most calls first. */
  targets: CallTarget[];
  /** The latest failed calls (4xx/5xx) with a trace id, newest first. */
  failed: FailedCall[];
}

const KIND_AFTER: ReadonlyMap<string, TargetKind> = new Map([
  ['users', 'user'],
  ['meetings', 'meeting'],
  ['past_meetings', 'meeting'],
  ['live_meetings', 'meeting'],
  ['webinars', 'webinar'],
  ['past_webinars', 'webinar'],
  ['rooms', 'room'],
  ['zoomrooms', 'room'],
  ['groups', 'group'],
]);
const MAX_ID = 80;
export const TARGETS_MAX = 5;
export const FAILED_MAX = 5;
/** Path words that follow a resource name without being an id (`/users/me` is the token's user). */
const WORD = /^[a-z_]{1,30}$/;

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The targets one URL touches (each once). */
export function targetsOf(url: string): Array<{ kind: TargetKind; id: string }> {
  const out: Array<{ kind: TargetKind; id: string }> = [];
  if (typeof url !== 'string' || url.length > 2048) return out;
  const q = url.indexOf('?');
  const pathPart = (q >= 0 ? url.slice(0, q) : url).replace(/^[a-z]+:\/\/[^/]*/i, '');
  const segments = pathPart.split('/').filter(Boolean);
  const seen = new Set<string>();
  const add = (kind: TargetKind, raw: string) => {
    const id = decode(raw).trim();
    if (!id || id.length > MAX_ID || (WORD.test(id) && id !== 'me') || /[\s`]/.test(id)) return;
    const k = `${kind}:${id}`;
    if (seen.has(k)) return;
    seen.add(k);
    out.push({ kind, id });
  };
  for (let i = 0; i + 1 < segments.length; i++) {
    const kind = KIND_AFTER.get(segments[i]!.toLowerCase());
    if (kind) add(kind, segments[i + 1]!);
  }
  // SCIM looks users up by a filter: `?filter=userName eq "ann@example.com"`.
  if (q >= 0) {
    const filter = new URLSearchParams(url.slice(q + 1)).get('filter') ?? '';
    const m = /userName\s+eq\s+"([^"]{1,80})"/i.exec(filter);
    if (m) add('user', m[1]!);
  }
  return out;
}

export function callerHints(sample: readonly SampleEntry[]): CallerHints {
  const counts = new Map<string, CallTarget>();
  for (const e of sample) {
    for (const t of targetsOf(e.url)) {
      const k = `${t.kind}:${t.id}`;
      const found = counts.get(k);
      if (found) found.count++;
      else counts.set(k, { ...t, count: 1 });
    }
  }
  const targets = [...counts.values()]
    .sort((a, b) => b.count - a.count || a.kind.localeCompare(b.kind) || a.id.localeCompare(b.id))
    .slice(0, TARGETS_MAX);
  const failed = sample
    .filter((e) => e.status >= 400 && typeof e.traceId === 'string' && e.traceId !== '')
    .sort((a, b) => b.time - a.time)
    .slice(0, FAILED_MAX)
    .map((e) => ({ time: e.time, status: e.status, key: e.key, traceId: e.traceId.slice(0, 200) }));
  return { sampled: sample.length, targets, failed };
}
