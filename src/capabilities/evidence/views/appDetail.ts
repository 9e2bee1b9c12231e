/**
 * `/zoomjwt app <app>` (SPEC §2): one app in depth — calls per day over 30 days, the endpoint
 * table, who is probably calling and Zoom's migration guide for them, failed calls since it was
 * disabled, owner and migration note, and the app's latest audit entries.
 * A pure function of stored data and `now`.
 */
import type { TrackedApp } from '../rules/app';
import type { CallerHints } from '../rules/callers';
import { compareWithZoom } from '../rules/zoomUsage';
import type { ZoomAppUsage } from '../../../platform/zoom/types';
import { degradedSentence } from '../rules/evidenceQuality';
import { auditSummaryMrkdwn, formatCount, sparkline, timeAgo, truncate } from '../../../kernel/format';
import { GENERIC_MIGRATION_GUIDE, guessIntegrations, type IntegrationGuess, type MigrationGuide } from '../rules/integrations';
import type { AuditEntry } from '../../audit';
import type { DailyUsage, EndpointUsage, SinceCount, UsageSummary, UsageWindow } from '../stores/usageRead';
import { COMMAND } from '../../../platform/slack/ids';
import { LIMITS, actions, context, header, message, section, type Block, type SlackMessage } from '../../../platform/slack/blocks';
import { requestButtons } from './requestButtons';
import { inline, stateText, utcMinute } from './status';
import { tableBlock, withFallback } from '../../../platform/slack/native';
import { callsChart } from './charts';

export interface AppDetailModel {
  app: TrackedApp;
  summary: UsageSummary;
  window: UsageWindow;
  /** The last 30 UTC days, oldest first. */
  daily: DailyUsage[];
  /** Endpoints over the same 30 days, most called first. */
  endpoints: EndpointUsage[];
  /** Only for a disabled app: failed calls since `disabledAt`. */
  failuresSinceDisable?: SinceCount;
  /** Newest first. */
  audit: AuditEntry[];
  soakPeriodMs: number;
  multiAccount?: boolean;
  pendingRequests?: number;
  /** Zoom's own figures from the list, and what zoomjwt counted over the same days. */
  zoom?: { usage: ZoomAppUsage; ours?: number };
  /** From the stored sample of the newest calls: what they touch, the latest failures' trace ids. */
  callers?: CallerHints;
}

/** Rows of the endpoint table before "…and N more". */
export const ENDPOINT_ROWS_MAX = 15;
const TEMPLATE_WIDTH = 48;
const SECTION_BUDGET = LIMITS.sectionText - 100;

const pad = (text: string, width: number) => (text.length >= width ? text : text + ' '.repeat(width - text.length));
const padLeft = (text: string, width: number) => (text.length >= width ? text : ' '.repeat(width - text.length) + text);

/** "11-28 18:36" for the table, where the year is noise. */
function shortUtc(ms: number): string {
  return new Date(ms).toISOString().slice(5, 16).replace('T', ' ');
}

/** A monospace table (method, template, count, errors, last seen) that fits one section. */
export function endpointTable(endpoints: readonly EndpointUsage[], budget = SECTION_BUDGET): string {
  if (endpoints.length === 0) return '_No calls in the last 30 days._';
  const head = `${pad('METHOD', 7)}${pad('ENDPOINT', TEMPLATE_WIDTH + 1)}${padLeft('CALLS', 8)}${padLeft('ERR', 7)}  LAST (UTC)`;
  const lines = [head];
  let used = head.length + 8;
  let shown = 0;
  for (const e of endpoints.slice(0, ENDPOINT_ROWS_MAX)) {
    // Templates hold only [A-Za-z0-9_-] and {placeholders}; escaping keeps odd input inert anyway.
    const row = `${pad(inline(e.method, 7), 7)}${pad(inline(e.template, TEMPLATE_WIDTH), TEMPLATE_WIDTH + 1)}${padLeft(formatCount(e.count), 8)}${padLeft(e.errors ? formatCount(e.errors) : '-', 7)}  ${e.last ? shortUtc(e.last) : '-'}`;
    if (used + row.length + 1 > budget - 60) break;
    lines.push(row);
    used += row.length + 1;
    shown++;
  }
  const more = endpoints.length - shown;
  return `\`\`\`${lines.join('\n')}\`\`\`${more > 0 ? `\n…and ${more} more endpoint${more === 1 ? '' : 's'}` : ''}`;
}

function guideLink(guide: MigrationGuide): string {
  return `<${guide.url}|${inline(guide.title, 100)}>`;
}

export function guessesText(guesses: readonly IntegrationGuess[]): string {
  const lines: string[] = ['*Who is probably calling*'];
  if (guesses.length === 0) lines.push('_No guess: no calls seen in 30 days, and the name gives no hint._');
  for (const g of guesses.slice(0, 3)) {
    lines.push(`• *${inline(g.label, 120)}* (${g.confidence}) — ${inline(g.reason, 300)}${g.guide ? `\n   Migration guide: ${guideLink(g.guide)}` : ''}`);
  }
  if (!guesses.slice(0, 3).some((g) => g.guide)) lines.push(`Zoom's general guide: ${guideLink(GENERIC_MIGRATION_GUIDE)}`);
  return lines.join('\n');
}

/**
 * The endpoint list as a native table: the same rows as endpointTable, as raw text cells. Raw
 * text is not mrkdwn, but the Zoom-derived cells are escaped all the same (templates hold no
 * `<`, `>` or `&` of their own), so no reading of the cells can turn one into a mention.
 */
export function endpointTableBlock(endpoints: readonly EndpointUsage[]): Block | undefined {
  if (endpoints.length === 0) return undefined;
  const rows = endpoints.slice(0, ENDPOINT_ROWS_MAX).map((e) => [
    inline(e.method, 16), inline(e.template, 200), formatCount(e.count), e.errors ? formatCount(e.errors) : '-', e.last ? shortUtc(e.last) : '-',
  ]);
  return tableBlock(['Method', 'Endpoint', 'Calls', 'Errors', 'Last (UTC)'], rows, ['left', 'left', 'right', 'right', 'left']);
}

function callsText(m: AppDetailModel, now: number, chart = false): string {
  const totals = m.daily.reduce((acc, d) => ({ total: acc.total + d.total, failed: acc.failed + d.failed }), { total: 0, failed: 0 });
  const busiest = m.daily.reduce<DailyUsage | undefined>((best, d) => (d.total > (best?.total ?? 0) ? d : best), undefined);
  const first = m.daily[0]?.day.slice(5) ?? '';
  const last = m.daily[m.daily.length - 1]?.day.slice(5) ?? '';
  const pct = totals.total > 0 ? ` (${Math.round((totals.failed / totals.total) * 100)}%)` : '';
  return [
    `*Calls per day, last ${m.daily.length} days (UTC)*`,
    ...(chart ? [] : [`\`${sparkline(m.daily.map((d) => d.total))}\`  ${first} → ${last}`]),
    `30 d: *${formatCount(totals.total)}* calls, ${formatCount(totals.failed)} failed${pct} · 7 d: *${formatCount(m.window.calls7d)}* · 24 h: *${formatCount(m.window.calls24h)}*` +
      (busiest ? ` · busiest day ${busiest.day} (${formatCount(busiest.total)})` : ''),
    `Last call ${timeAgo(m.summary.lastCall, now)} · last success ${timeAgo(m.summary.lastSuccess, now)} · last failure ${timeAgo(m.summary.lastFailure, now)}`,
    ...readLines(m, now),
  ].join('\n');
}

/** How trustworthy the counts above are: degraded reads in words, late arrivals counted. */
function readLines(m: AppDetailModel, now: number): string[] {
  const read = m.summary.read;
  if (!read) return [];
  const out: string[] = [];
  const degraded = degradedSentence(read);
  if (degraded) out.push(`:warning: ${degraded}`);
  else if (read.lastComplete !== undefined) out.push(`Last complete read ${timeAgo(read.lastComplete, now)}: clean.`);
  if ((m.summary.late ?? 0) > 0) {
    out.push(`${formatCount(m.summary.late ?? 0)} call${m.summary.late === 1 ? '' : 's'} counted late (Zoom published them after a read had passed their time), the last ${timeAgo(m.summary.lateAt, now)}.`);
  }
  return out;
}

function sinceDisableText(m: AppDetailModel, now: number): string | undefined {
  const { app } = m;
  if (app.state !== 'disabled' || app.disabledAt === undefined) return undefined;
  const lines = [`*Since it was disabled* (${timeAgo(app.disabledAt, now)}, ${utcMinute(app.disabledAt)})`];
  if (m.summary.lastSuccess !== undefined && m.summary.lastSuccess > app.disabledAt) {
    lines.push(`:rotating_light: A call succeeded ${timeAgo(m.summary.lastSuccess, now)}, after the app was marked disabled: it may not really be disabled.`);
  }
  const f = m.failuresSinceDisable;
  if (f && f.count > 0) {
    const from = f.granularity === 'day' ? ' (counted from the start of that day)' : '';
    const top = f.endpoints.slice(0, 3).map((e) => `\`${inline(e.key, 60)}\` ${formatCount(e.count)}`).join(' · ');
    lines.push(`:warning: ${formatCount(f.count)} failed call${f.count === 1 ? '' : 's'}${from}: something still depends on it.${top ? ` ${top}` : ''}`);
  } else if (!(m.summary.lastSuccess !== undefined && m.summary.lastSuccess > app.disabledAt)) {
    lines.push(':white_check_mark: No calls since it was disabled.');
  }
  return lines.join('\n');
}

/** Zoom's totals beside zoomjwt's count, a large disagreement flagged. */
function zoomText(z: NonNullable<AppDetailModel['zoom']>, now: number): string {
  const check = compareWithZoom(z.usage, z.ours);
  const used = z.usage.lastUsed !== undefined ? ` · last used ${timeAgo(z.usage.lastUsed, now)}` : '';
  return `*Zoom's own figures*\n${check.text}${used}${check.flag ? `\n:warning: ${check.flag}` : ''}`;
}

/** What the latest calls act on, and the trace ids of the latest failures (for Zoom support). */
export function callersText(h: CallerHints): string {
  const lines = [`*Who is probably calling* (from the ${formatCount(h.sampled)} latest calls)`];
  if (h.targets.length) {
    lines.push(
      `Most touched: ${h.targets.map((t) => `${t.kind} \`${inline(t.id, 80)}\` (${formatCount(t.count)} of ${formatCount(h.sampled)})`).join(' · ')}`,
    );
    const top = h.targets[0]!;
    if (top.count * 2 >= h.sampled && top.count > 1) {
      lines.push(`_Most calls act on one ${top.kind}: the integration that owns or books for it is the likely caller._`);
    }
  } else lines.push('_No user, meeting or room ids in the latest calls._');
  if (h.failed.length) {
    lines.push('Latest failed calls (trace ids for Zoom support):');
    for (const f of h.failed) lines.push(`• \`${utcMinute(f.time)}\` ${f.status} \`${inline(f.key, 60)}\` \`${inline(f.traceId, 120)}\``);
  }
  return truncate(lines.join('\n'), SECTION_BUDGET);
}

function peopleText(app: TrackedApp, pending: number | undefined): string {
  const owner = app.owner
    ? `*Owner:* <@${app.owner}>${app.ownerSetBy ? ` (set by <@${app.ownerSetBy}>${app.ownerSetAt ? `, ${utcMinute(app.ownerSetAt)}` : ''})` : ''}`
    : `*Owner:* none — \`${COMMAND} owner ${inline(app.appId, 128)} @someone\``;
  const migrated = app.migrated
    ? `*Migrated:* :white_check_mark: yes${app.migratedBy ? `, says <@${app.migratedBy}>` : ''}${app.migratedAt ? ` (${utcMinute(app.migratedAt)})` : ''}${app.migratedNote ? ` — “${inline(app.migratedNote, 500)}”` : ''}`
    : `*Migrated:* not yet — \`${COMMAND} migrated ${inline(app.appId, 128)} [note]\` when the callers have moved`;
  const requests = pending ? `\n:inbox_tray: ${pending} pending request${pending === 1 ? '' : 's'} — \`${COMMAND} requests\`` : '';
  return `${owner}\n${migrated}${requests}`;
}

function auditText(entries: readonly AuditEntry[]): string {
  if (entries.length === 0) return '*History*\n_No audit entries for this app yet._';
  const lines = entries.slice(0, 10).map((e) => {
    const who = e.actor && /^[UW][A-Z0-9]{2,}$/.test(e.actor) ? ` <@${e.actor}>` : '';
    return `• \`${utcMinute(e.at)}\`${who} ${auditSummaryMrkdwn({ ...e, summary: truncate(e.summary.replace(/\s+/g, ' '), 200) })}`;
  });
  return `*History* (latest ${lines.length})\n${lines.join('\n')}`;
}

function lifecycleText(app: TrackedApp): string {
  const parts = [`tracked ${utcMinute(app.trackedAt)}${app.trackedBy && /^[UW][A-Z0-9]{2,}$/.test(app.trackedBy) ? ` by <@${app.trackedBy}>` : app.trackedBy === 'config' ? ' (ZOOM_APP_IDS)' : ''}`];
  if (app.disabledAt) parts.push(`disabled ${utcMinute(app.disabledAt)}`);
  if (app.enabledAt) parts.push(`enabled ${utcMinute(app.enabledAt)}`);
  if (app.removedAt) parts.push(`removed ${utcMinute(app.removedAt)}`);
  if (app.goneAt) parts.push(`gone from Zoom ${utcMinute(app.goneAt)}`);
  if (app.appType || app.appStatus) parts.push(`Zoom: ${[app.appType, app.appStatus].filter(Boolean).map((t) => inline(String(t), 40)).join(', ')}`);
  return parts.join(' · ');
}

/**
 * The app detail with native blocks (a calls chart, the endpoint table) and, kept with it as its
 * fallback (see native.ts), the same view with the text sparkline and monospace columns.
 */
export function renderAppDetail(m: AppDetailModel, now: number): SlackMessage {
  const plain = renderAppDetailWith(m, now, false);
  const chart = callsChart(`Calls per day, last ${m.daily.length} days (UTC)`, m.daily);
  const table = endpointTableBlock(m.endpoints);
  if (!chart && !table) return plain;
  return withFallback(renderAppDetailWith(m, now, true), plain);
}

function renderAppDetailWith(m: AppDetailModel, now: number, native: boolean): SlackMessage {
  const { app } = m;
  const guesses = guessIntegrations({ appName: app.name, endpoints: m.endpoints.map((e) => ({ key: e.key, count: e.count })) });
  const chart = native ? callsChart(`Calls per day, last ${m.daily.length} days (UTC)`, m.daily) : undefined;
  const table = native ? endpointTableBlock(m.endpoints) : undefined;
  const more = m.endpoints.length - Math.min(m.endpoints.length, ENDPOINT_ROWS_MAX);
  const blocks: Block[] = [
    header(truncate(app.name.replace(/\s+/g, ' '), LIMITS.headerText)),
    section(`\`${inline(app.appId, 128)}\`${m.multiAccount ? ` · account *${inline(app.account, 40)}*` : ''} · ${stateText(app, now, m.soakPeriodMs)}\n${peopleText(app, m.pendingRequests)}`),
    section(callsText(m, now, chart !== undefined)),
    ...(chart ? [chart] : []),
    ...(table
      ? [section('*Endpoints, last 30 days*'), table, ...(more > 0 ? [context(`…and ${more} more endpoint${more === 1 ? '' : 's'}`)] : [])]
      : [section(`*Endpoints, last 30 days*\n${endpointTable(m.endpoints)}`)]),
    section(guessesText(guesses)),
  ];
  if (m.callers && m.callers.sampled > 0) blocks.push(section(callersText(m.callers)));
  if (m.zoom) blocks.push(section(zoomText(m.zoom, now)));
  const disabled = sinceDisableText(m, now);
  if (disabled) blocks.push(section(disabled));
  blocks.push(section(auditText(m.audit)));
  blocks.push(context(lifecycleText(app)));
  const buttons = requestButtons(app);
  if (buttons.length) blocks.push(actions('request_actions', buttons));
  const fallback = `${inline(app.name, 80)} (${inline(app.appId, 128)}): ${m.window.calls7d} calls in 7 days, last call ${timeAgo(m.summary.lastCall, now)}`;
  return message(fallback, blocks);
}
