/**
 * The Home tab (issue 16): a dashboard per person, from stored data only. First what needs them
 * (requests waiting for their signature, their own open requests, the apps they own), then every
 * tracked app as a row (name, state, calls 24 h / 7 d, last call, owner, soak clock) with its
 * Request menu, then poll health and the actions mode.
 *
 * A pure function of the model and `now`. A Home view holds at most 100 blocks: the app table is
 * paged (HOME_APPS_PER_PAGE rows, Previous / Next), so any number of apps fits.
 */
import type { types } from '@slack/bolt';
import type { ActionsMode } from '../../../config';
import type { CandidateApp, TrackedApp } from '../../evidence';
import { candidateLines } from '../../evidence';
import type { StoredRequest } from '../../approvals';
import { formatCount, timeAgo, timeUntil, truncate } from '../../../kernel/format';
import type { PollHealth } from '../../evidence';
import type { UsageSummary, UsageWindow } from '../../evidence';
import { button, context, divider, header, section, type Block } from '../../../platform/slack/blocks';
import { COMMAND, HOME_ACTION, REQUEST_ACTION } from '../../../platform/slack/ids';
import { ACTION_TITLE } from '../../approvals';
import { formatSpan, healthLine, inline, modeLine, orderForStatus, stateText, utcMinute } from '../../evidence';

export type HomeView = types.HomeView;

/** App rows per page: with the fixed blocks around them a page stays well under 100 blocks. */
export const HOME_APPS_PER_PAGE = 60;
/** Lines per "what needs you" list before "…and N more". */
export const HOME_LIST_MAX = 10;
/** Most blocks Slack takes in a Home view. */
export const HOME_MAX_BLOCKS = 100;

export interface HomeAppRow {
  app: TrackedApp;
  window: UsageWindow;
  summary: UsageSummary;
}

export interface HomeModel {
  userId: string;
  actionsMode: ActionsMode;
  warnings: string[];
  soakPeriodMs: number;
  pollEveryMs: number;
  accounts: PollHealth[];
  apps: HomeAppRow[];
  /** Created apps not tracked; listed by recent use when Zoom sends usage figures for them. */
  candidates?: CandidateApp[];
  /** Pending requests this person may sign and has not; `link` is the card's permalink. */
  toSign: Array<{ req: StoredRequest; link?: string }>;
  /** This person's own open requests. */
  mine: Array<{ req: StoredRequest; link?: string }>;
  /** 0-based page of the app table. */
  page: number;
}

const cardLink = (x: { req: StoredRequest; link?: string }) => (x.link ? ` — <${x.link}|open the card>` : '');

function requestState(r: StoredRequest, now: number): string {
  if (r.status === 'pending') return `${r.signatures.length} of ${r.required} signed · expires ${timeUntil(r.expiresAt, now)}`;
  if (r.status === 'awaiting_operator') return 'approved · waiting for the Marketplace step and *Done*';
  return 'approved · being carried out';
}

function list<T>(items: readonly T[], line: (item: T) => string, empty: string): string {
  if (items.length === 0) return empty;
  const lines = items.slice(0, HOME_LIST_MAX).map(line);
  if (items.length > HOME_LIST_MAX) lines.push(`…and ${items.length - HOME_LIST_MAX} more — \`${COMMAND} requests\``);
  return lines.join('\n');
}

function needsYou(m: HomeModel, now: number): string[] {
  const sign = list(
    m.toSign,
    (x) => `• \`${x.req.id}\` *${ACTION_TITLE[x.req.action]} ${inline(x.req.appName, 80)}* by <@${x.req.requester}> · ${x.req.signatures.length} of ${x.req.required} signed · expires ${timeUntil(x.req.expiresAt, now)}${cardLink(x)}`,
    '_Nothing is waiting for your signature._',
  );
  const mine = list(
    m.mine,
    (x) => `• \`${x.req.id}\` *${ACTION_TITLE[x.req.action]} ${inline(x.req.appName, 80)}* · ${requestState(x.req, now)}${cardLink(x)}`,
    '_You have no open requests._',
  );
  const ownedApps = m.apps.filter((r) => r.app.owner === m.userId && r.app.state !== 'removed');
  const owned = list(
    ownedApps,
    (r) => `• *${inline(r.app.name, 80)}* — ${stateText(r.app, now, m.soakPeriodMs)} · ${formatCount(r.window.calls7d)} calls in 7 d${r.app.migrated ? ' · migrated' : ''}`,
    '_You own no app._',
  );
  return [`*Waiting for your signature*\n${sign}`, `*Your open requests*\n${mine}`, `*Apps you own*\n${owned}`];
}

function soakText(app: TrackedApp, now: number, soakPeriodMs: number): string {
  if (app.state !== 'disabled' || app.disabledAt === undefined) return '–';
  if (soakPeriodMs <= 0) return 'no soak period';
  const soaked = Math.max(0, now - app.disabledAt);
  return soaked >= soakPeriodMs ? `complete (${formatSpan(soakPeriodMs)})` : `${formatSpan(soaked)} of ${formatSpan(soakPeriodMs)}`;
}

/** The Request menu of a row: a button for one possible request, a menu for two. */
function requestAccessory(app: TrackedApp): types.Button | types.Overflow | undefined {
  if (app.state === 'active') return button('Request disable', REQUEST_ACTION.disable, app.appId);
  if (app.state !== 'disabled') return undefined;
  return {
    type: 'overflow',
    action_id: HOME_ACTION.request,
    options: (['enable', 'remove'] as const).map((action) => ({
      text: { type: 'plain_text' as const, text: action === 'enable' ? 'Request enable' : 'Request removal', emoji: true },
      value: `${action}:${app.appId}`,
    })),
  };
}

function appRow(r: HomeAppRow, now: number, soakPeriodMs: number, multi: boolean): Block {
  const { app } = r;
  const accessory = requestAccessory(app);
  return {
    type: 'section',
    fields: [
      { type: 'mrkdwn', text: `*${inline(app.name, 80)}*\n\`${inline(app.appId, 128)}\`${multi ? ` (${inline(app.account, 40)})` : ''}` },
      { type: 'mrkdwn', text: `*State*\n${stateText(app, now, soakPeriodMs)}` },
      { type: 'mrkdwn', text: `*Calls 24 h / 7 d*\n${formatCount(r.window.calls24h)} / ${formatCount(r.window.calls7d)}` },
      { type: 'mrkdwn', text: `*Last call*\n${timeAgo(r.summary.lastCall, now)}` },
      { type: 'mrkdwn', text: `*Owner*\n${app.owner ? `<@${app.owner}>` : 'none'}` },
      { type: 'mrkdwn', text: `*Soak clock*\n${soakText(app, now, soakPeriodMs)}` },
    ],
    ...(accessory ? { accessory } : {}),
  };
}

export function pageCount(apps: number): number {
  return Math.max(1, Math.ceil(apps / HOME_APPS_PER_PAGE));
}

export function renderHome(m: HomeModel, now: number): HomeView {
  const multi = m.accounts.length > 1;
  const rows = orderForStatus(m.apps.map((r) => ({ ...r })));
  const pages = pageCount(rows.length);
  const page = Math.min(Math.max(0, Math.floor(m.page) || 0), pages - 1);
  const blocks: Block[] = [header('zoomjwt')];
  if (m.warnings.length) blocks.push(section(m.warnings.map((w) => `:rotating_light: *${w}*`).join('\n')));
  blocks.push(section(`${modeLine(m.actionsMode)}\n*${rows.length}* tracked app${rows.length === 1 ? '' : 's'}`));
  blocks.push(header('What needs you'));
  for (const text of needsYou(m, now)) blocks.push(section(text));
  blocks.push(divider());
  blocks.push(header('Tracked apps'));
  const shown = rows.slice(page * HOME_APPS_PER_PAGE, (page + 1) * HOME_APPS_PER_PAGE);
  if (shown.length === 0) blocks.push(section(`No app is tracked yet. An admin starts with \`${COMMAND} track <appId>\`.`));
  for (const r of shown) blocks.push(appRow(r, now, m.soakPeriodMs, multi));
  if (pages > 1) {
    const nav: types.Button[] = [];
    if (page > 0) nav.push(button('Previous', HOME_ACTION.pagePrev, String(page - 1)));
    if (page < pages - 1) nav.push(button('Next', HOME_ACTION.pageNext, String(page + 1)));
    blocks.push(context(`Apps ${page * HOME_APPS_PER_PAGE + 1}–${page * HOME_APPS_PER_PAGE + shown.length} of ${rows.length} (page ${page + 1} of ${pages})`));
    blocks.push({ type: 'actions', block_id: 'home_pages', elements: nav });
  }
  const candidates = m.candidates ?? [];
  if (candidates.some((c) => c.usage)) {
    blocks.push(divider());
    const lines = candidateLines(candidates, now, COMMAND, multi, HOME_LIST_MAX);
    blocks.push(section(truncate(`*Not tracked yet, by recent use (${formatCount(candidates.length)})*\n${lines.join('\n')}`, 2_900)));
  }
  blocks.push(divider());
  blocks.push(section(`*Polling*\n${m.accounts.map((h) => healthLine(h, now, m.pollEveryMs)).join('\n') || '_No account configured._'}`));
  blocks.push(context(`From stored data · updated ${utcMinute(now)} · \`${COMMAND} app <name>\` for an app in depth`));
  // The page size keeps this far from the limit; the cut is a last guard, never a failure.
  const fitted = blocks.length <= HOME_MAX_BLOCKS ? blocks : [...blocks.slice(0, HOME_MAX_BLOCKS - 1), context('_More not shown._')];
  return { type: 'home', blocks: fitted, private_metadata: JSON.stringify({ page }) };
}

/** What a guest, a stranger or a deactivated account sees. */
export function notForYouHome(why: string): HomeView {
  return {
    type: 'home',
    blocks: [header('zoomjwt'), section(`:no_entry: This dashboard is for full members of this Slack workspace. ${why}`)],
  };
}

