/**
 * Zoom's own usage figures (List apps, changelog 2026-11-09) in words: untracked apps ranked by
 * their recent use (status, the digest, and the Home tab's dashboard through `rankCandidates`),
 * and Zoom's totals of a tracked app beside zoomjwt's own count, a large disagreement flagged.
 * Pure functions; every name from Zoom is escaped by the caller's `inline`/`escapeMrkdwn`.
 */
import type { CandidateApp } from './app';
import { escapeMrkdwn, formatCount, timeAgo, truncate } from '../../../kernel/format';
import type { ZoomAppUsage } from '../../../platform/zoom/types';

export interface RankedCandidates {
  /** Used in Zoom's window, most recently used first (then most calls). */
  used: CandidateApp[];
  /** Zoom reports no use at all: the easy ones to retire. */
  unused: CandidateApp[];
  /** The account does not send usage figures for these (or not readable ones). */
  unknown: CandidateApp[];
}

/** Whether Zoom says the app was used at all in its window. */
export function wasUsed(u: ZoomAppUsage): boolean {
  return (u.totalCalls ?? 0) > 0 || (u.totalCalls === undefined && u.lastUsed !== undefined);
}

/**
 * The untracked apps by recent use, for status, the digest and the Home tab (issue 16 can call
 * this with `apps.candidates()` and render each group with `candidateUsageText`).
 */
export function rankCandidates(candidates: readonly CandidateApp[]): RankedCandidates {
  const used: CandidateApp[] = [];
  const unused: CandidateApp[] = [];
  const unknown: CandidateApp[] = [];
  for (const c of candidates) {
    if (!c.usage) unknown.push(c);
    else if (wasUsed(c.usage)) used.push(c);
    else unused.push(c);
  }
  const byName = (a: CandidateApp, b: CandidateApp) => a.name.localeCompare(b.name) || a.appId.localeCompare(b.appId);
  used.sort(
    (a, b) =>
      (b.usage!.lastUsed ?? 0) - (a.usage!.lastUsed ?? 0) ||
      (b.usage!.totalCalls ?? 0) - (a.usage!.totalCalls ?? 0) ||
      byName(a, b),
  );
  unused.sort(byName);
  unknown.sort(byName);
  return { used, unused, unknown };
}

const plural = (n: number, word: string) => `${formatCount(n)} ${word}${n === 1 ? '' : 's'}`;

/** "last used 2 h ago, 1,204 calls (31 failed), 3 active users" (mrkdwn-safe: numbers and times only). */
export function candidateUsageText(u: ZoomAppUsage, now: number): string {
  const parts: string[] = [];
  if (u.lastUsed !== undefined) parts.push(`last used ${timeAgo(u.lastUsed, now)}`);
  if (u.totalCalls !== undefined) {
    const window = u.durationDays ? ` in ${u.durationDays} d` : '';
    parts.push(`${plural(u.totalCalls, 'call')}${window}${u.failedCalls ? ` (${formatCount(u.failedCalls)} failed)` : ''}`);
  }
  if (u.activeUsers !== undefined) parts.push(plural(u.activeUsers, 'active user'));
  if (u.worksWith?.length) parts.push(`works with ${u.worksWith.slice(0, 3).map((w) => escapeMrkdwn(truncate(w, 30))).join(', ')}`);
  return parts.length ? parts.join(', ') : 'no usage figures';
}

export interface ZoomCountCheck {
  /** "Zoom: 1,204 calls in 30 d (31 failed), 3 active users". */
  text: string;
  /** Zoom's total and zoomjwt's count over the same days differ a lot. */
  disagrees: boolean;
  /** The sentence for the flag, when `disagrees`. */
  flag?: string;
}

/** Counts differing by more than this share of the larger (and by more than DISAGREE_MIN) are flagged. */
export const DISAGREE_SHARE = 0.2;
export const DISAGREE_MIN = 20;

/**
 * Zoom's totals beside zoomjwt's own count over Zoom's window (`ours`: calls zoomjwt counted in
 * the last `durationDays` days, or undefined when unknown). Day buckets and Zoom's rolling window
 * do not line up exactly, hence the tolerance.
 */
export function compareWithZoom(u: ZoomAppUsage, ours: number | undefined): ZoomCountCheck {
  const days = u.durationDays ?? 30;
  const bits: string[] = [];
  if (u.totalCalls !== undefined) bits.push(`${plural(u.totalCalls, 'call')} in ${days} d${u.failedCalls ? ` (${formatCount(u.failedCalls)} failed)` : ''}`);
  if (u.activeUsers !== undefined) bits.push(plural(u.activeUsers, 'active user'));
  const text = `Zoom: ${bits.length ? bits.join(', ') : 'no totals'}${ours !== undefined && u.totalCalls !== undefined ? ` · zoomjwt: ${formatCount(ours)}` : ''}`;
  if (ours === undefined || u.totalCalls === undefined) return { text, disagrees: false };
  const diff = Math.abs(u.totalCalls - ours);
  const disagrees = diff > DISAGREE_MIN && diff > DISAGREE_SHARE * Math.max(u.totalCalls, ours);
  return disagrees
    ? {
        text,
        disagrees,
        flag:
          u.totalCalls > ours
            ? `Zoom counts ${formatCount(u.totalCalls)} calls in ${days} d, zoomjwt ${formatCount(ours)}: calls may be missing from the call logs zoomjwt reads`
            : `zoomjwt counts ${formatCount(ours)} calls in ${days} d, Zoom ${formatCount(u.totalCalls)}: Zoom's figures may lag`,
      }
    : { text, disagrees };
}

/** One candidate on one line: escaped name and id, its use in Zoom's figures, the command to track it. */
export function candidateLine(c: CandidateApp, now: number, command: string, multi: boolean): string {
  const name = escapeMrkdwn(truncate(c.name.replace(/\s+/g, ' ').trim(), 80));
  const id = escapeMrkdwn(c.appId);
  const use = c.usage && wasUsed(c.usage) ? ` — ${candidateUsageText(c.usage, now)}` : '';
  return `• *${name}* \`${id}\`${multi ? ` (${escapeMrkdwn(c.account)})` : ''}${use} — \`${command} track ${id}\``;
}

/**
 * The candidates as lines, at most `max`: used ones by recent use, then the never used ("the easy
 * ones"), then those without figures, each group under its own title when figures exist at all.
 */
export function candidateLines(candidates: readonly CandidateApp[], now: number, command: string, multi: boolean, max: number): string[] {
  const r = rankCandidates(candidates);
  const lines: string[] = [];
  const withFigures = r.used.length + r.unused.length > 0;
  const group = (title: string | undefined, list: CandidateApp[]) => {
    if (!list.length || lines.length >= max) return;
    if (title && withFigures) lines.push(title);
    for (const c of list) {
      if (lines.length >= max) break;
      lines.push(candidateLine(c, now, command, multi));
    }
  };
  group('_Used recently, by Zoom’s figures:_', r.used);
  group(`_No use at all in Zoom’s figures (${formatCount(r.unused.length)}): the easy ones_`, r.unused);
  group('_No usage figures from Zoom:_', r.unknown);
  const shown = lines.filter((l) => l.startsWith('•')).length;
  if (candidates.length > shown) lines.push(`…and ${formatCount(candidates.length - shown)} more`);
  return lines;
}
