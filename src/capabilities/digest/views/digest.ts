/**
 * The daily digest (SPEC §6): a work queue, not a report. This module is pure: it takes what the
 * digest job gathered (the model, ../model.ts: apps with their usage, requests, poll health, audit
 * entries) and a clock value, and returns the Slack message. It never reads the clock or touches Redis, so the digest
 * for 500 apps renders in a few milliseconds and every rule below is unit-testable.
 *
 * Slack limits hold for any input: at most 50 blocks and 3000 characters per section text. Long
 * lists are cut to a fixed number of lines per section, the rest is summarised with a count and a
 * pointer to `/zoomjwt status` or `/zoomjwt app <name>`.
 */
import { callsChart, candidateLines } from '../../evidence';
import { escapeMrkdwn, formatCount, sparkline, timeAgo, timeUntil, trend, truncate } from '../../../kernel/format';
import type { ApprovalRequest } from '../../approvals';
import { LIMITS, context, divider, header, message, section, type Block, type SlackMessage } from '../../../platform/slack/blocks';
import { COMMAND } from '../../../platform/slack/ids';
import type { DailyUsage } from '../../evidence';
import { withFallback } from '../../../platform/slack/native';
import { digestCounts, digestDate, type DigestApp, type DigestChange, type DigestCounts, type DigestHealth, type DigestModel } from '../model';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** Lines per list before the rest is summarised; chosen so every section fits 3 blocks. */
const MAX_LINES = { needs: 25, active: 15, problems: 15, changes: 12, candidates: 8 } as const;
/** A line never exceeds this (an app name is user text of any length). */
const MAX_LINE = 400;
const MAX_NAME = 60;
/** Section blocks one list may use (3 × 3000 characters). */
const MAX_BLOCKS_PER_LIST = 3;
/** The section text budget, leaving room for a title line. */
const SECTION_BUDGET = LIMITS.sectionText - 100;

const appName = (name: string) => escapeMrkdwn(truncate(name, MAX_NAME));
const user = (id: string) => (/^[UW][A-Z0-9]+$/.test(id) ? `<@${id}>` : escapeMrkdwn(id));
const plural = (n: number, one: string, many = `${one}s`) => `${formatCount(n)} ${n === 1 ? one : many}`;

/** Signed by whom, out of how many needed. */
function signedLine(req: ApprovalRequest): string {
  const who = req.signatures.map((s) => user(s.userId)).join(', ');
  return `${req.signatures.length}/${req.required} signed${who ? ` (${who})` : ''}`;
}

/** An app counts as silent from its last call; never-called apps from before the first 30-day read. */
function silentSince(app: DigestApp): number | undefined {
  if (app.lastCall !== undefined) return app.lastCall;
  // The first read covers Zoom's full 30 days of logs: no call in it means silent since then.
  return app.lastRead !== undefined ? app.trackedAt - 30 * DAY_MS : undefined;
}

/** Polling of the account is currently trustworthy: polled, and the last poll worked. */
function accountHealthy(h: DigestHealth | undefined, now: number): boolean {
  return Boolean(h && h.lastSuccess !== undefined && h.consecutiveFailures === 0 && !(h.pausedUntil !== undefined && h.pausedUntil > now));
}

interface Sections {
  needs: string[];
  active: string[];
  activeTotal: number;
  problems: string[];
  changes: string[];
}

function buildSections(model: DigestModel, now: number): Sections {
  const healthBy = new Map(model.health.map((h) => [h.account, h]));
  const pendingApps = new Set(model.pending.map((r) => r.appId));
  const needs: string[] = [];
  const problems: string[] = [];

  for (const req of [...model.pending].sort((a, b) => a.expiresAt - b.expiresAt)) {
    needs.push(
      `:hourglass_flowing_sand: *${req.action}* ${appName(req.appName)} — asked by ${user(req.requester)}, ${signedLine(req)}, expires ${timeUntil(req.expiresAt, now)}`,
    );
  }
  for (const req of model.operatorSteps) {
    needs.push(`:wrench: Operator step waiting: *${req.action}* ${appName(req.appName)} in the Marketplace, then press *Done* on its card (approved ${timeAgo(req.decidedAt, now)})`);
  }
  for (const req of model.failedExecutions) {
    const why = req.outcome ? ` — ${escapeMrkdwn(truncate(req.outcome, 150))}` : '';
    needs.push(`:x: *${req.action}* ${appName(req.appName)} ${req.status === 'aborted' ? 'was not executed' : 'failed'}${why}`);
  }

  const activeApps: DigestApp[] = [];
  for (const app of model.apps) {
    const h = healthBy.get(app.account);
    const healthy = accountHealthy(h, now);
    if (app.goneAt !== undefined && app.state !== 'removed') {
      problems.push(`:ghost: ${appName(app.name)} is gone from Zoom (${timeAgo(app.goneAt, now)}) but not marked removed — \`${COMMAND} app ${app.appId}\``);
      continue;
    }
    if (app.state === 'active') {
      if (app.calls7d > 0) activeApps.push(app);
      const since = silentSince(app);
      // Silence proves nothing while polling is broken: only a healthy account's quiet app is news.
      if (healthy && since !== undefined && now - since >= model.soakPeriodMs && !pendingApps.has(app.appId)) {
        const last = app.lastCall === undefined ? 'no call in the logs' : `last call ${timeAgo(app.lastCall, now)}`;
        needs.push(`:zzz: ${appName(app.name)} is silent (${last}) — could be disabled: \`${COMMAND} disable ${app.appId} <reason>\``);
      }
    } else if (app.state === 'disabled' && app.disabledAt !== undefined) {
      const stillCalled = app.lastSuccess !== undefined && app.lastSuccess > app.disabledAt;
      if (stillCalled) {
        problems.push(`:rotating_light: ${appName(app.name)} was marked disabled ${timeAgo(app.disabledAt, now)} but calls still succeed (last ${timeAgo(app.lastSuccess, now)}) — it may not really be disabled`);
      } else if (now - app.disabledAt >= model.soakPeriodMs && !pendingApps.has(app.appId)) {
        needs.push(`:white_check_mark: ${appName(app.name)} soaked ${timeAgo(app.disabledAt, now).replace(' ago', '')} with no successful call — could be removed: \`${COMMAND} remove ${app.appId} <reason>\``);
      }
      if ((app.failsSinceDisable ?? 0) > 0) {
        problems.push(`:warning: ${appName(app.name)}: ${plural(app.failsSinceDisable!, 'failed call')} since it was disabled — something still depends on it (\`${COMMAND} app ${app.appId}\`)`);
      }
    }
  }
  if (!model.requestsKnown) problems.push(':warning: Approval requests could not be read; pending requests are not shown.');
  for (const sentence of model.slackProblems ?? []) problems.push(`:warning: Slack: ${escapeMrkdwn(sentence)}`);

  for (const account of model.accounts) {
    const h = healthBy.get(account);
    const label = model.accounts.length > 1 ? `Account *${escapeMrkdwn(account)}*: ` : '';
    if (!h || (h.lastStart === undefined && h.lastSuccess === undefined)) {
      problems.push(`:grey_question: ${label}never polled yet — nothing is known about its apps (\`${COMMAND} poll\`)`);
      continue;
    }
    if (h.pausedUntil !== undefined && h.pausedUntil > now) {
      problems.push(`:double_vertical_bar: ${label}Zoom's daily API limit was reached; polling paused until ${new Date(h.pausedUntil).toISOString().slice(0, 16).replace('T', ' ')} UTC`);
    }
    if (h.consecutiveFailures > 0) {
      const kind = h.lastErrorKind === 'auth' ? 'authentication failed' : h.lastErrorKind === 'scope' ? 'missing scopes' : 'polling failing';
      const error = h.lastError ? `: ${escapeMrkdwn(truncate(h.lastError, 200))}` : '';
      problems.push(`:red_circle: ${label}${kind} since ${timeAgo(h.failingSince ?? h.lastErrorAt, now)} (${plural(h.consecutiveFailures, 'poll')} in a row)${error}`);
    } else if (h.lastSuccess === undefined) {
      problems.push(`:grey_question: ${label}no poll has finished yet (started ${timeAgo(h.lastStart, now)})`);
    } else if (model.pollEveryMs > 0 && now - h.lastSuccess > Math.max(3 * model.pollEveryMs, HOUR_MS)) {
      problems.push(`:hourglass: ${label}last successful poll was ${timeAgo(h.lastSuccess, now)} — the worker may be down`);
    }
  }

  activeApps.sort((a, b) => b.calls7d - a.calls7d || a.name.localeCompare(b.name));
  const active = activeApps.map((app) => {
    const top = app.topEndpoints.slice(0, 2).map((e) => `\`${escapeMrkdwn(truncate(e.key, 70))}\``).join(', ');
    const owner = app.owner ? ` · owner ${user(app.owner)}` : ' · no owner';
    const migrated = app.migrated ? ' · marked migrated' : '';
    const guess = app.integration ? `\n      likely: ${escapeMrkdwn(truncate(app.integration, 90))}` : '';
    return (
      `• *${appName(app.name)}* — ${formatCount(app.calls24h)} calls 24 h (${trend(app.calls24h, app.prev24h)}), ${formatCount(app.calls7d)} / 7 d` +
      `${app.fails24h > 0 ? `, ${formatCount(app.fails24h)} failed` : ''}${owner}${migrated}${top ? `\n      top: ${top}` : ''}${guess}`
    );
  });

  const changes = summariseChanges(model.changes);
  return { needs, active, activeTotal: activeApps.length, problems, changes };
}

/** Audit entries grouped by type with counts, then the newest few as sentences. */
function summariseChanges(entries: DigestChange[]): string[] {
  const relevant = entries.filter((e) => e.type !== 'digest.posted');
  if (relevant.length === 0) return [];
  const byType = new Map<string, number>();
  for (const e of relevant) byType.set(e.type, (byType.get(e.type) ?? 0) + 1);
  const counts = [...byType.entries()].sort((a, b) => b[1] - a[1]).map(([type, n]) => `${type} ×${n}`);
  const lines = [`_${counts.join(' · ')}_`];
  for (const e of relevant.slice(-(MAX_LINES.changes - 1)).reverse()) {
    lines.push(`• ${escapeMrkdwn(truncate(e.summary, 200))}${e.actor && e.actor !== 'system' ? ` — ${user(e.actor)}` : ''}`);
  }
  return lines;
}

/**
 * Packs lines into at most `maxBlocks` sections of at most SECTION_BUDGET characters each, the
 * first starting with `title`. Lines that do not fit are counted in a closing "…and N more".
 */
function listBlocks(title: string, lines: string[], limit: number, more: (n: number) => string, empty: string): Block[] {
  if (lines.length === 0) return [section(`*${title}*\n${empty}`)];
  const shown = lines.slice(0, limit).map((l) => truncate(l, MAX_LINE));
  const blocks: string[][] = [[`*${title}*`]];
  const size = (b: string[]) => b.reduce((n, l) => n + l.length + 1, 0);
  let placed = 0;
  for (const line of shown) {
    let current = blocks[blocks.length - 1]!;
    if (size(current) + line.length > SECTION_BUDGET) {
      if (blocks.length >= MAX_BLOCKS_PER_LIST) break;
      current = [];
      blocks.push(current);
    }
    current.push(line);
    placed += 1;
  }
  const last = blocks[blocks.length - 1]!;
  // The closing "…and N more" must fit too: give back lines until it does.
  while (lines.length > placed && last.length > 1 && size(last) + more(lines.length - placed).length > SECTION_BUDGET) {
    last.pop();
    placed -= 1;
  }
  if (lines.length > placed) last.push(more(lines.length - placed));
  return blocks.map((b) => section(b.join('\n')));
}

/** How many hex digits of the audit head the digest shows (48 bits: no accidental match). */
export const AUDIT_HEAD_DIGITS = 12;

/** The closing line: the audit head, and the command that checks the log still reaches it. */
function auditHeadLine(head: DigestModel['auditHead']): string {
  if (!head) return 'Audit log: no entries yet.';
  const hash = escapeMrkdwn(head.hash.slice(0, AUDIT_HEAD_DIGITS));
  return (
    `Audit log: *${formatCount(head.count)}* entries, head \`${hash}\` · ` +
    `check it later with \`npm run audit:verify -- --head ${hash} --count ${head.count}\``
  );
}

/** Untracked apps by recent use, when Zoom sends usage figures for any (otherwise the headline counts them). */
function candidateBlocks(model: DigestModel, now: number): Block[] {
  const list = model.candidateList ?? [];
  if (!list.some((c) => c.usage)) return [];
  const multi = model.accounts.length > 1;
  const lines = candidateLines(list, now, COMMAND, multi, MAX_LINES.candidates);
  return [section(truncate(`*Not tracked yet, by recent use (${formatCount(list.length)})*\n${lines.join('\n')}`, SECTION_BUDGET)), divider()];
}

/**
 * The digest message for `now` (epoch ms) in time zone `tz`. Pure. With daily counts, calls per
 * day are a native chart, and the same digest with a text sparkline instead is kept as its
 * fallback (see slack/native.ts) for a workspace that refuses the chart.
 */
export function renderDigest(model: DigestModel, now: number, tz: string): SlackMessage {
  const plain = renderDigestWith(model, now, tz, false);
  if (!model.daily?.length) return plain;
  return withFallback(renderDigestWith(model, now, tz, true), plain);
}

function callsPerDay(daily: readonly DailyUsage[] | undefined, native: boolean): Block[] {
  if (!daily?.length) return [];
  const title = `Calls per day, last ${daily.length} days (UTC)`;
  const chart = native ? callsChart(title, daily) : undefined;
  if (chart) return [chart];
  const failed = daily.reduce((n, d) => n + d.failed, 0);
  const total = daily.reduce((n, d) => n + d.total, 0);
  return [section(`*${title}*\n\`${sparkline(daily.map((d) => d.total))}\`  ${daily[0]!.day.slice(5)} → ${daily[daily.length - 1]!.day.slice(5)} · ${formatCount(total)} calls, ${formatCount(failed)} failed`)];
}

function renderDigestWith(model: DigestModel, now: number, tz: string, native: boolean): SlackMessage {
  const date = model.date ?? digestDate(now, tz);
  const counts = digestCounts(model);
  const s = buildSections(model, now);
  const y = model.yesterday;
  const delta = (key: keyof DigestCounts) => {
    if (!y) return '';
    const d = counts[key] - y[key];
    return d === 0 ? '' : ` (${d > 0 ? '+' : '−'}${formatCount(Math.abs(d))})`;
  };
  const prevCalls = model.apps.reduce((sum, a) => sum + a.prev24h, 0);
  const gone = model.apps.filter((a) => a.goneAt !== undefined && a.state !== 'removed').length;

  const headline =
    `*${formatCount(counts.tracked)}* tracked${delta('tracked')} · *${formatCount(counts.active)}* active${delta('active')} · ` +
    `*${formatCount(counts.disabled)}* disabled/soaking${delta('disabled')} · *${formatCount(counts.removed)}* removed${delta('removed')}` +
    `${gone ? ` · *${gone}* gone from Zoom` : ''}\n` +
    `*${formatCount(counts.calls24h)}* calls in the last 24 h (${trend(counts.calls24h, prevCalls)} vs the 24 h before)` +
    `${model.candidates ? ` · ${plural(model.candidates, 'untracked candidate')} (\`${COMMAND} status\`)` : ''}`;

  const blocks: Block[] = [
    header(`zoomjwt digest — ${date}`),
    ...(model.warnings?.length ? [section(model.warnings.map((w) => `:rotating_light: *${w}*`).join('\n'))] : []),
    context(`${tz} · actions ${model.mode === 'live' ? '*live*' : '*dry-run* (nothing destructive is sent to Zoom)'}${y ? ' · changes in brackets are since yesterday' : ''}`),
    section(headline),
    ...callsPerDay(model.daily, native),
    divider(),
    ...listBlocks(`Needs a person now (${s.needs.length})`, s.needs, MAX_LINES.needs, (n) => `_…and ${n} more — \`${COMMAND} requests\`, \`${COMMAND} status\`_`, 'Nothing waiting. :tada:'),
    divider(),
    ...listBlocks(
      `Still active (${s.activeTotal})`,
      s.active,
      MAX_LINES.active,
      (n) => `_…and ${plural(n, 'more app')} with calls this week — \`${COMMAND} status\`, or \`${COMMAND} app <name>\` for one_`,
      'No tracked app was called in the last 7 days.',
    ),
    divider(),
    ...listBlocks(`Problems (${s.problems.length})`, s.problems, MAX_LINES.problems, (n) => `_…and ${n} more — \`${COMMAND} status\`_`, 'None: every account polled fine.'),
    divider(),
    ...candidateBlocks(model, now),
    ...listBlocks('What changed since yesterday', s.changes, MAX_LINES.changes, (n) => `_…and ${n} more — \`${COMMAND} audit\`_`, 'Nothing recorded in the audit log in the last 24 h.'),
    context(`Details: \`${COMMAND} app <name>\` · everything: \`${COMMAND} status\` · refresh: \`${COMMAND} digest\``),
    context(auditHeadLine(model.auditHead)),
  ];
  const text =
    `zoomjwt digest ${date}: ${counts.tracked} tracked, ${counts.active} active, ${s.needs.length} need a person, ` +
    `${s.problems.length} problem${s.problems.length === 1 ? '' : 's'}`;
  return message(text, blocks, 'in_channel');
}
