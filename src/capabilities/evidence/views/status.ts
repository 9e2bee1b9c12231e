/**
 * `/zoomjwt status` (SPEC §2): every tracked app at a glance, the poll health of each account and
 * the actions mode, then the created apps not tracked yet.
 *
 * A pure function of stored data and `now`, so it renders 500 apps in a few milliseconds and is
 * unit-tested against Slack's limits (50 blocks, 3000 characters a section): apps that are being
 * called or are soaking get a full entry, the rest one line each, several per section, and past
 * what reads well on a phone the remainder is summarised with a pointer to `/zoomjwt app`.
 */
import type { ActionsMode } from '../../../config';
import type { CandidateApp, TrackedApp } from '../rules/app';
import { escapeMrkdwn, formatCount, timeAgo, timeUntil, trend, truncate } from '../../../kernel/format';
import { degradedSentence } from '../rules/evidenceQuality';
import { candidateLines, compareWithZoom } from '../rules/zoomUsage';
import type { ZoomAppUsage } from '../../../platform/zoom/types';
import { guessIntegrations } from '../rules/integrations';
import type { PollHealth } from '../stores/health';
import type { UsageSummary, UsageWindow } from '../stores/usageRead';
import { COMMAND } from '../../../platform/slack/ids';
import { LIMITS, context, divider, header, message, section, type Block, type SlackMessage } from '../../../platform/slack/blocks';

export interface StatusAppRow {
  app: TrackedApp;
  window: UsageWindow;
  summary: UsageSummary;
  /** Endpoint keys with their calls over the last 7 days, most called first; absent when not read. */
  endpoints?: ReadonlyArray<{ key: string; count: number }>;
  /** Open approval requests for the app, when the requests store can tell. */
  pendingRequests?: number;
  /** Zoom's own figures from the list, and what zoomjwt counted over the same days. */
  zoom?: { usage: ZoomAppUsage; ours?: number };
}

export interface StatusModel {
  actionsMode: ActionsMode;
  /** Weakened settings in force (REQUIRED_APPROVALS=1, a short soak): a banner on top. */
  warnings?: string[];
  /** Milliseconds; 0 means no soak period. */
  soakPeriodMs: number;
  /** Milliseconds; 0 means scheduled polling is off. */
  pollEveryMs: number;
  /** One per configured account. */
  accounts: PollHealth[];
  apps: StatusAppRow[];
  candidates: CandidateApp[];
  public?: boolean;
  /** Unresolved Slack API problems, as sentences (bot not in the digest channel, revoked token…). */
  slackProblems?: string[];
}

/** Full entries at most (apps being called or soaking); the rest get one line. */
export const STATUS_DETAILED_MAX = 20;
/** One-line entries at most; past them the remainder is counted, not listed. */
export const STATUS_COMPACT_MAX = 60;
export const STATUS_CANDIDATES_MAX = 10;
/** Room left in a section for Slack's own markup (characters). */
const SECTION_BUDGET = LIMITS.sectionText - 100;
const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** "7 d", "5 h", "12 min", rounded down. */
export function formatSpan(ms: number): string {
  if (ms >= DAY_MS) return `${Math.floor(ms / DAY_MS)} d`;
  if (ms >= HOUR_MS) return `${Math.floor(ms / HOUR_MS)} h`;
  return `${Math.max(0, Math.floor(ms / MINUTE_MS))} min`;
}

/** "2026-11-28 18:36 UTC". */
export function utcMinute(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** Text from Zoom or people, on one line, escaped and clipped. */
export const inline = (text: string, max: number) => escapeMrkdwn(truncate(text.replace(/\s+/g, ' ').trim(), max));

const isGone = (app: TrackedApp) => app.goneAt !== undefined && app.state !== 'removed';

/** Lower first: soaking apps, then apps still called, gone ones, quiet ones, removed ones. */
function rank(row: StatusAppRow): number {
  const { app } = row;
  if (app.state === 'removed') return 4;
  if (isGone(app)) return 2;
  if (app.state === 'disabled') return 0;
  return row.window.calls7d > 0 ? 1 : 3;
}

export function orderForStatus<T extends StatusAppRow>(rows: readonly T[]): T[] {
  return [...rows].sort(
    (a, b) =>
      rank(a) - rank(b) ||
      b.window.calls7d - a.window.calls7d ||
      (b.summary.lastCall ?? 0) - (a.summary.lastCall ?? 0) ||
      a.app.name.localeCompare(b.app.name) ||
      a.app.appId.localeCompare(b.app.appId),
  );
}

/** Whether an app gets a full entry (and so needs its endpoints read). */
export function isDetailed(row: Pick<StatusAppRow, 'app' | 'window'>): boolean {
  if (row.app.state === 'removed' || isGone(row.app)) return false;
  return row.app.state === 'disabled' || row.window.calls7d > 0;
}

/** The app ids `renderStatus` shows in full, for the caller to read their endpoints. */
export function detailedAppIds(rows: ReadonlyArray<Pick<StatusAppRow, 'app' | 'window' | 'summary'>>): string[] {
  return orderForStatus(rows.map((r) => ({ ...r })))
    .filter(isDetailed)
    .slice(0, STATUS_DETAILED_MAX)
    .map((r) => r.app.appId);
}

export function stateText(app: TrackedApp, now: number, soakPeriodMs: number): string {
  if (app.state === 'removed') return `:wastebasket: removed${app.removedAt ? ` ${timeAgo(app.removedAt, now)}` : ''}`;
  if (isGone(app)) return `:ghost: gone from Zoom (noticed ${timeAgo(app.goneAt, now)})`;
  if (app.state === 'disabled') {
    if (app.disabledAt === undefined) return ':pause_button: disabled';
    const soaked = Math.max(0, now - app.disabledAt);
    const soak =
      soakPeriodMs <= 0
        ? 'no soak period'
        : soaked >= soakPeriodMs
          ? `soak complete (${formatSpan(soakPeriodMs)})`
          : `soaking ${formatSpan(soaked)} of ${formatSpan(soakPeriodMs)}`;
    return `:pause_button: disabled ${timeAgo(app.disabledAt, now)} · ${soak}`;
  }
  return ':large_green_circle: active';
}

function ownerText(app: TrackedApp): string {
  const owner = app.owner ? `owner <@${app.owner}>` : 'no owner';
  const migrated = app.migrated
    ? `:white_check_mark: migrated${app.migratedNote ? ` — “${inline(app.migratedNote, 80)}”` : ''}`
    : 'not migrated';
  return `${owner} · ${migrated}`;
}

function callsText(w: UsageWindow, s: UsageSummary, now: number): string {
  const failed = w.fails24h > 0 ? `, ${formatCount(w.fails24h)} failed` : '';
  return `24 h: *${formatCount(w.calls24h)}* (${trend(w.calls24h, w.prev24h)}${failed}) · 7 d: *${formatCount(w.calls7d)}* (${trend(w.calls7d, w.prev7d)}) · last call ${timeAgo(s.lastCall, now)}`;
}

const nameId = (app: TrackedApp, multi: boolean) =>
  `*${inline(app.name, 80)}* \`${escapeMrkdwn(app.appId)}\`${multi ? ` (${escapeMrkdwn(app.account)})` : ''}`;

function pendingText(row: StatusAppRow): string {
  const n = row.pendingRequests ?? 0;
  return n > 0 ? ` · :inbox_tray: ${n} pending request${n === 1 ? '' : 's'}` : '';
}

export function detailedEntry(row: StatusAppRow, now: number, soakPeriodMs: number, multi: boolean): string {
  const { app, window: w, summary } = row;
  const lines = [`${nameId(app, multi)} · ${stateText(app, now, soakPeriodMs)}`, callsText(w, summary, now)];
  const endpoints = row.endpoints ?? [];
  if (endpoints.length) {
    lines.push(`Top: ${endpoints.slice(0, 3).map((e) => `\`${escapeMrkdwn(truncate(e.key, 60))}\` ${formatCount(e.count)}`).join(' · ')}`);
  }
  const guess = guessIntegrations({ appName: app.name, endpoints })[0];
  if (guess) lines.push(`Likely: ${escapeMrkdwn(guess.label)} (${guess.confidence})`);
  lines.push(`${ownerText(app)}${pendingText(row)}`);
  const degraded = summary.read ? degradedSentence(summary.read) : undefined;
  if (degraded) lines.push(`:warning: ${degraded}`);
  if (row.zoom) {
    const check = compareWithZoom(row.zoom.usage, row.zoom.ours);
    lines.push(check.text);
    if (check.flag) lines.push(`:warning: ${check.flag}`);
  }
  return lines.join('\n');
}

export function compactEntry(row: StatusAppRow, now: number, soakPeriodMs: number, multi: boolean): string {
  const { app, window: w, summary } = row;
  const calls = w.calls7d > 0 ? `${formatCount(w.calls7d)} calls in 7 d` : 'no calls in 7 d';
  const degraded = summary.read ? degradedSentence(summary.read) : undefined;
  // A large disagreement with Zoom's own totals is flagged here too: a quiet line must not hide it.
  const flag = row.zoom ? compareWithZoom(row.zoom.usage, row.zoom.ours).flag : undefined;
  return `• ${nameId(app, multi)} — ${stateText(app, now, soakPeriodMs)} · ${calls} · last call ${timeAgo(summary.lastCall, now)} · ${ownerText(app)}${pendingText(row)}${degraded ? `\n   :warning: ${degraded}` : ''}${flag ? `\n   :warning: ${flag}` : ''}`;
}

/** Joins entries, in order, into as few section texts as fit the budget; `count` entries each. */
export function packSections(entries: readonly string[], separator: string, budget = SECTION_BUDGET): Array<{ text: string; count: number }> {
  const out: Array<{ text: string; count: number }> = [];
  let current: { text: string; count: number } | undefined;
  for (const raw of entries) {
    const entry = raw.length > budget ? truncate(raw, budget) : raw;
    if (current && current.text.length + separator.length + entry.length > budget) {
      out.push(current);
      current = undefined;
    }
    current = current ? { text: `${current.text}${separator}${entry}`, count: current.count + 1 } : { text: entry, count: 1 };
  }
  if (current) out.push(current);
  return out;
}

export function healthLine(h: PollHealth, now: number, pollEveryMs: number): string {
  const name = `*${escapeMrkdwn(h.account)}*`;
  const lastGood = h.lastSuccess ? `last good poll ${timeAgo(h.lastSuccess, now)}` : 'no good poll yet';
  const settled = Math.max(h.lastSuccess ?? 0, h.lastErrorAt ?? 0);
  // lastStart after the last outcome: a poll is running (or died; a stale start is not shown).
  const running = h.lastStart !== undefined && h.lastStart > settled && now - h.lastStart < 30 * MINUTE_MS;
  const runningText = running ? ` · polling now (started ${timeAgo(h.lastStart, now)})` : '';
  if (h.pausedUntil !== undefined && h.pausedUntil > now) {
    return `:double_vertical_bar: ${name}: paused by Zoom's daily API limit until ${utcMinute(h.pausedUntil)} (${timeUntil(h.pausedUntil, now)}) · ${lastGood}`;
  }
  if (h.lastErrorAt !== undefined && h.lastError && h.lastErrorAt >= (h.lastSuccess ?? 0)) {
    const streak = h.consecutiveFailures > 1 ? ` (${h.consecutiveFailures} polls in a row)` : '';
    return `:warning: ${name}: the last poll failed ${timeAgo(h.lastErrorAt, now)}${streak}: ${escapeMrkdwn(truncate(h.lastError, 400))}. ${lastGood[0]!.toUpperCase()}${lastGood.slice(1)}.${runningText}`;
  }
  if (h.lastSuccess !== undefined) {
    // A scheduler that stopped (no worker) is a problem too, even with no error recorded.
    const late = pollEveryMs > 0 && now - h.lastSuccess > Math.max(3 * pollEveryMs, HOUR_MS);
    const icon = late ? ':warning:' : ':white_check_mark:';
    const lateText = late ? ` — later than expected (every ${formatSpan(pollEveryMs)}); is the worker running?` : '';
    return `${icon} ${name}: last poll ${timeAgo(h.lastSuccess, now)}, ${formatCount(h.ingested)} new entries, ${formatCount(h.requests)} API requests${lateText}${runningText}`;
  }
  if (running) return `:hourglass_flowing_sand: ${name}: first poll running (started ${timeAgo(h.lastStart, now)})`;
  return `:hourglass_flowing_sand: ${name}: never polled yet${pollEveryMs > 0 ? '' : ` — run \`${COMMAND} poll\``}`;
}

export function modeLine(mode: ActionsMode): string {
  return mode === 'live'
    ? 'Actions mode: *LIVE* — approved removals are sent to Zoom'
    : 'Actions mode: *DRY-RUN* — approved actions are rehearsed; nothing destructive is sent to Zoom';
}

export function renderStatus(model: StatusModel, now: number): SlackMessage {
  const multi = model.accounts.length > 1;
  const rows = orderForStatus(model.apps);
  const called24h = rows.filter((r) => r.window.calls24h > 0 && r.app.state !== 'removed').length;
  const blocks: Block[] = [];
  blocks.push(header('zoomjwt status'));
  if (model.warnings?.length) blocks.push(section(model.warnings.map((w) => `:rotating_light: *${w}*`).join('\n')));
  blocks.push(
    section(
      `${modeLine(model.actionsMode)}\n*${rows.length}* tracked app${rows.length === 1 ? '' : 's'} · *${called24h}* called in the last 24 h · *${model.candidates.length}* not tracked yet`,
    ),
  );
  blocks.push(section(`*Polling*\n${model.accounts.map((h) => healthLine(h, now, model.pollEveryMs)).join('\n')}`));
  if (model.slackProblems?.length) {
    blocks.push(section(`*Slack*\n${model.slackProblems.slice(0, 5).map((p) => `:warning: ${escapeMrkdwn(p)}`).join('\n')}`));
  }
  blocks.push(divider());

  // Blocks after the apps: divider + candidates, the "more" line, the footer.
  const tailBlocks = (model.candidates.length ? 2 : 0) + 1 + 1;
  const detailedRows = rows.filter(isDetailed).slice(0, STATUS_DETAILED_MAX);
  const detailedSet = new Set(detailedRows);
  const compactRows = rows.filter((r) => !detailedSet.has(r)).slice(0, STATUS_COMPACT_MAX);
  const sections = [
    ...packSections(detailedRows.map((r) => detailedEntry(r, now, model.soakPeriodMs, multi)), '\n\n'),
    ...packSections(compactRows.map((r) => compactEntry(r, now, model.soakPeriodMs, multi)), '\n'),
  ];
  let shown = 0;
  for (const s of sections) {
    if (blocks.length >= LIMITS.blocks - tailBlocks) break;
    blocks.push(section(s.text));
    shown += s.count;
  }
  if (rows.length === 0) {
    blocks.push(section(`No app is tracked yet. Start with \`${COMMAND} track <appId>\` (the apps below are candidates), or list ids in ZOOM_APP_IDS.`));
  }
  const shownRows = new Set([...detailedRows, ...compactRows].slice(0, shown));
  const rest = rows.filter((r) => !shownRows.has(r));
  if (rest.length) {
    const busy = rest.filter((r) => r.window.calls7d > 0).length;
    const what = busy === 0 ? `quiet app${rest.length === 1 ? '' : 's'}` : `app${rest.length === 1 ? '' : 's'} (${busy} with calls in the last 7 days)`;
    blocks.push(context(`…and ${formatCount(rest.length)} more ${what} — \`${COMMAND} app <name>\` shows any of them.`));
  }

  if (model.candidates.length) {
    blocks.push(divider());
    // By recent use when Zoom sends usage figures; the never-used ones are the easy ones.
    const lines = candidateLines(model.candidates, now, COMMAND, multi, STATUS_CANDIDATES_MAX);
    blocks.push(section(truncate(`*Not tracked yet* — created in Zoom, not watched:\n${lines.join('\n')}`, SECTION_BUDGET)));
  }
  blocks.push(
    context(
      model.pollEveryMs > 0
        ? `From stored data · polls every ${formatSpan(model.pollEveryMs)} · \`${COMMAND} poll\` polls now · \`${COMMAND} app <name>\` for details`
        : `From stored data · scheduled polling is off · \`${COMMAND} poll\` polls now · \`${COMMAND} app <name>\` for details`,
    ),
  );

  const problems = model.accounts.filter((h) => (h.lastErrorAt ?? 0) >= (h.lastSuccess ?? 0) && h.lastError).map((h) => h.account);
  const fallback =
    (model.warnings?.length ? `${model.warnings.join(' ')} ` : '') +
    `zoomjwt status (${model.actionsMode === 'live' ? 'LIVE' : 'DRY-RUN'}): ${rows.length} tracked apps, ${called24h} called in the last 24 h, ${model.candidates.length} not tracked` +
    (problems.length ? `; polling problem on ${problems.join(', ')}` : '');
  return message(fallback, blocks, model.public ? 'in_channel' : 'ephemeral');
}
