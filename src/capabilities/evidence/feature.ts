/**
 * The evidence feature (SPEC §2, §4): `/zoomjwt status`, `app`, `track`, `untrack`, `owner`,
 * `migrated` and `poll`, plus the poll job and its schedulers.
 *
 * `status` and `app` answer from Redis only, in a handful of pipelined reads, whatever Zoom is
 * doing. `track` is the one command that asks Zoom (does the app exist?): it answers at once and
 * follows up through the response URL. Bad input gets a sentence and the usage line, and changes
 * nothing.
 */
import type { TrackedApp } from './rules/app';
import { weakenedSettings } from '../../kernel/settings';
import { lastNDays, truncate } from '../../kernel/format';
import type { Feature } from '../../platform/feature';
import type { EvidenceServices as Services } from './services';
import { createPollProcessor, enqueuePoll, POLL_JOB, schedulePolls, type EnqueueOutcome } from './jobs/pollJob';
import { message, notice, section, serializeOnce, type SlackMessage } from '../../platform/slack/blocks';
import type { CommandContext, CommandHandler } from '../../platform/slack/commands';
import { COMMAND } from '../../platform/slack/ids';
import { warnUndelivered } from '../../platform/slack/transport';
import { candidateLines, resolveApp, resolveFailureMessage, splitAppArgs, unquote, type Resolution } from './rules/resolveApp';
import { renderAppDetail } from './views/appDetail';
import { callerHints } from './rules/callers';
import { detailedAppIds, inline, renderStatus, type StatusAppRow, type StatusModel } from './views/status';
import { readStatusEpoch } from '../../platform/redis/statusEpoch';
import { SAMPLE_CAP } from './stores/usageKeys';
import { type UsageWindow } from './stores/usageRead';
import { getPause } from '../../platform/zoom/stores/pause';
import { ZoomError } from '../../platform/zoom/errors';

export interface EvidenceOptions {
  /** Open approval requests per app id; status and app show them when given. */
  pendingRequests?: () => Promise<Map<string, number>>;
  /** The app's open or approved requests (untrack is refused while there are any). */
  openRequestsOf?: (appId: string) => Promise<Array<{ id: string; action: string }>>;
}

export const USAGE = {
  status: `\`${COMMAND} status\` (add \`public\` to post it in the channel)`,
  app: `\`${COMMAND} app <app>\` — an app id or name`,
  track: `\`${COMMAND} track <appId>\` (with several accounts, \`${COMMAND} track <account>:<appId>\` also works)`,
  untrack: `\`${COMMAND} untrack <app>\``,
  owner: `\`${COMMAND} owner <app> @user\` — pick the user from the autocomplete list`,
  migrated: `\`${COMMAND} migrated <app> [note]\``,
  poll: `\`${COMMAND} poll\` (or \`${COMMAND} poll <account>\`)`,
} as const;

const ZOOM_APP_ID = /^[A-Za-z0-9_-]{1,128}$/;
const SLACK_USER = /^[UW][A-Z0-9]{2,}$/;
/** Longest migration note kept (characters). */
export const MAX_NOTE = 500;

/** The longest a process answers `status` from the answer it built last (relative times age). */
export const STATUS_MAX_AGE_MS = 5_000;

const EMPTY_WINDOW: UsageWindow = {
  calls24h: 0, prev24h: 0, calls7d: 0, prev7d: 0, successes24h: 0, fails24h: 0, prevFails24h: 0, successes7d: 0, fails7d: 0,
};

const usageNotice = (sub: keyof typeof USAGE, lead?: string) => notice(`${lead ? `${lead}\n` : ''}Usage: ${USAGE[sub]}`);

export function createEvidenceFeature(services: Services, options: EvidenceOptions = {}): Feature {
  const { config, apps, usage, audit, log } = services;
  const accountNames = config.zoom.accounts.map((a) => a.name);
  const multi = accountNames.length > 1;

  async function pendingCounts(): Promise<Map<string, number> | undefined> {
    if (!options.pendingRequests) return undefined;
    try {
      return await options.pendingRequests();
    } catch (err) {
      // Pending counts are a nicety here; status must answer without them.
      log.warn({ err: { message: (err as Error).message } }, 'pending request counts unavailable for status');
      return undefined;
    }
  }

  /** A failed resolution; an unknown name that is an untracked candidate says how to track it. */
  async function unresolved(result: Extract<Resolution<TrackedApp>, { ok: false }>, sub: keyof typeof USAGE): Promise<SlackMessage> {
    if (result.reason === 'unknown') {
      const candidate = resolveApp(result.query, await apps.candidates());
      if (candidate.ok) {
        const c = candidate.app;
        return notice(`*${inline(c.name, 80)}* \`${inline(c.appId, 128)}\` is not tracked yet; nothing was changed. Start watching it with \`${COMMAND} track ${inline(c.appId, 128)}\`.`);
      }
    }
    return resolveFailureMessage(result, { usage: USAGE[sub], withAccount: multi });
  }

  async function resolveTracked(query: string, sub: keyof typeof USAGE): Promise<{ app: TrackedApp } | { answer: SlackMessage }> {
    // Only a read (`app`) may take a unique partial name; anything that changes state needs the
    // exact id or full name, so a stray letter never untracks or re-owns an app.
    const result = resolveApp(query, await apps.list(), { exact: sub !== 'app' });
    if (result.ok) return { app: result.app };
    return { answer: await unresolved(result, sub) };
  }

  async function loadStatus(now: number, isPublic: boolean): Promise<StatusModel> {
    const [tracked, candidates, health, pauses, pending, slackProblems] = await Promise.all([
      apps.list(),
      apps.candidates(),
      services.health.getAll(accountNames),
      Promise.all(accountNames.map((a) => getPause(services.redis, services.keys, a, now))),
      pendingCounts(),
      services.slackHealth.problems(now).catch(() => []),
    ]);
    const ids = tracked.map((a) => a.appId);
    const [windows, summaries, zoomUsage] = await Promise.all([usage.windowMany(ids, now), usage.summaryMany(ids), apps.zoomUsage(ids)]);
    // Zoom's totals beside zoomjwt's count over the same days (only apps Zoom sends figures for).
    const ours = new Map(
      await Promise.all(
        [...zoomUsage].map(async ([id, record]) => {
          const days = lastNDays(now, Math.min(30, record.usage.durationDays ?? 30));
          const daily = await usage.daily(id, days);
          return [id, daily.reduce((sum, d) => sum + d.total, 0)] as const;
        }),
      ),
    );
    const rows: StatusAppRow[] = tracked.map((app) => {
      const record = zoomUsage.get(app.appId);
      const counted = ours.get(app.appId);
      return {
        app,
        window: windows.get(app.appId) ?? EMPTY_WINDOW,
        summary: summaries.get(app.appId) ?? { ingested: 0, families: [] },
        ...(pending ? { pendingRequests: pending.get(app.appId) ?? 0 } : {}),
        ...(record ? { zoom: { usage: record.usage, ...(counted !== undefined ? { ours: counted } : {}) } } : {}),
      };
    });
    // Endpoints only for the apps shown in full (at most STATUS_DETAILED_MAX), all at once.
    const days = lastNDays(now, 7);
    const wanted = detailedAppIds(rows);
    const endpoints = await Promise.all(wanted.map((id) => usage.endpoints(id, days)));
    const byId = new Map(wanted.map((id, i) => [id, endpoints[i] ?? []]));
    for (const row of rows) {
      const e = byId.get(row.app.appId);
      if (e) row.endpoints = e.map((x) => ({ key: x.key, count: x.count }));
    }
    // The live pause key is newer than the health record while a pause is on.
    const accounts = health.map((h, i) => {
      const pause = pauses[i];
      return pause !== null && pause !== undefined && pause > (h.pausedUntil ?? 0) ? { ...h, pausedUntil: pause } : h;
    });
    return {
      actionsMode: config.actionsMode,
      warnings: weakenedSettings(config).map((w) => w.text),
      soakPeriodMs: config.soakPeriodMs,
      pollEveryMs: config.pollEveryMs,
      accounts,
      apps: rows,
      candidates,
      public: isPublic,
      slackProblems: slackProblems.map((p) => p.sentence),
    };
  }

  /**
   * Status is the command people run together (a channel reading the digest, a meeting, a
   * dashboard refreshing it). Each process keeps the answer it built last, tagged with the status
   * epoch it read before reading the data (see store/statusEpoch): while the epoch is unchanged
   * and the answer is younger than STATUS_MAX_AGE_MS, a request costs one GET. Otherwise one build
   * runs and requests that arrive meanwhile share it (single flight). So an answer reflects every
   * write that finished before the request (the stores bump the epoch, in any process, so no
   * handler here has to drop the cache), and its relative times are at most a few seconds old.
   */
  const cached = new Map<boolean, { epoch: string; builtAt: number; validUntil: number; message: SlackMessage }>();
  const building = new Map<string, Promise<SlackMessage>>();
  const status: CommandHandler = async (ctx) => {
    const arg = ctx.args.trim().toLowerCase();
    if (arg !== '' && arg !== 'public') return usageNotice('status', `I don't know \`${inline(ctx.args, 40).replace(/`/g, "'")}\` here.`);
    const isPublic = arg === 'public';
    const epoch = await readStatusEpoch(services.redis, services.keys);
    const hit = cached.get(isPublic);
    if (hit && hit.epoch === epoch && ctx.now >= hit.builtAt && ctx.now < hit.validUntil) {
      services.metrics.statusAnswers.inc({ source: 'cache' });
      return hit.message;
    }
    const flightKey = `${isPublic}:${epoch}`;
    const inFlight = building.get(flightKey);
    if (inFlight) {
      services.metrics.statusAnswers.inc({ source: 'shared' });
      return inFlight;
    }
    services.metrics.statusAnswers.inc({ source: 'build' });
    const builtAt = ctx.now;
    const message = loadStatus(builtAt, isPublic).then((model) => {
      // Answered as it is until the next build, so serialized once.
      const rendered = serializeOnce(renderStatus(model, builtAt));
      // A pause ending changes the answer without any write; so does the clock, slowly.
      const pauseEnds = model.accounts.map((a) => a.pausedUntil ?? 0).filter((t) => t > builtAt);
      const validUntil = Math.min(builtAt + STATUS_MAX_AGE_MS, ...pauseEnds);
      if (building.get(flightKey) === message) cached.set(isPublic, { epoch, builtAt, validUntil, message: rendered });
      return rendered;
    });
    building.set(flightKey, message);
    const done = () => {
      if (building.get(flightKey) === message) building.delete(flightKey);
    };
    message.then(done, done);
    return message;
  };

  const app: CommandHandler = async (ctx) => {
    const found = await resolveTracked(ctx.args, 'app');
    if ('answer' in found) return found.answer;
    const target = found.app;
    const days = lastNDays(ctx.now, 30);
    const disabledAt = target.state === 'disabled' ? target.disabledAt : undefined;
    const [summary, window, daily, endpoints, history, failures, pending, sample, zoomUsage] = await Promise.all([
      usage.summary(target.appId),
      usage.window(target.appId, ctx.now),
      usage.daily(target.appId, days),
      usage.endpoints(target.appId, days),
      audit.latest(10, { appId: target.appId }),
      disabledAt !== undefined ? usage.failuresSince(target.appId, disabledAt, ctx.now) : Promise.resolve(undefined),
      pendingCounts(),
      usage.sample(target.appId, SAMPLE_CAP),
      apps.zoomUsage([target.appId]),
    ]);
    const record = zoomUsage.get(target.appId);
    // zoomjwt's count over Zoom's window: the last `durationDays` of the 30 days read.
    const ours = record ? daily.slice(-Math.min(30, record.usage.durationDays ?? 30)).reduce((sum, d) => sum + d.total, 0) : undefined;
    return renderAppDetail(
      {
        app: target,
        summary,
        window,
        daily,
        endpoints,
        audit: history,
        soakPeriodMs: config.soakPeriodMs,
        multiAccount: multi,
        ...(failures ? { failuresSinceDisable: failures } : {}),
        ...(pending ? { pendingRequests: pending.get(target.appId) ?? 0 } : {}),
        ...(record ? { zoom: { usage: record.usage, ...(ours !== undefined ? { ours } : {}) } } : {}),
        callers: callerHints(sample),
      },
      ctx.now,
    );
  };

  /** The slow half of `track`: ask Zoom, then record. Answers through the response URL. */
  async function lookUpAndTrack(ctx: CommandContext, appId: string, accounts: string[]): Promise<SlackMessage> {
    const notFound: string[] = [];
    const errors: ZoomError[] = [];
    for (const account of accounts) {
      const zoom = services.zoom.get(account);
      if (!zoom) continue;
      let info;
      try {
        info = await zoom.getApp(appId);
      } catch (err) {
        if (!(err instanceof ZoomError)) throw err;
        errors.push(err);
        continue;
      }
      if (info === null) {
        notFound.push(account);
        continue;
      }
      const name = info.app_name?.trim() || appId;
      const now = services.clock();
      const added = await apps.track(
        {
          appId,
          account,
          name,
          ...(info.app_type ? { appType: info.app_type } : {}),
          ...(info.app_status ? { appStatus: info.app_status } : {}),
          trackedBy: ctx.userId,
        },
        now,
      );
      if (!added) return notice(`*${inline(name, 80)}* \`${inline(appId, 128)}\` is already tracked; nothing changed.`);
      await audit.append({
        type: 'app.tracked',
        actor: ctx.userId,
        appId,
        account,
        summary: `<@${ctx.userId}> started tracking ${truncate(name, 80)} (${appId})`,
        details: { name: truncate(name, 200) },
      });
      const queued = await enqueuePoll(services, account);
      const pollText = queued === 'queued' ? 'A poll is queued: its calls show in `' + COMMAND + ' status` within a minute or two.' : 'A poll is already under way and will include it.';
      return notice(`:white_check_mark: Now tracking *${inline(name, 80)}* \`${inline(appId, 128)}\`${multi ? ` in account *${inline(account, 40)}*` : ''}. ${pollText}`);
    }
    const where = multi ? ` (looked in ${notFound.map((a) => `*${inline(a, 40)}*`).join(', ') || 'no account'})` : '';
    if (errors.length) {
      const problems = errors.map((e) => e.explain()).join('; ');
      const partial = notFound.length ? ` It is not in ${notFound.join(', ')}.` : '';
      return notice(`:warning: I could not check \`${inline(appId, 128)}\` in Zoom: ${inline(problems, 600)}.${partial} Nothing was changed; try again once Zoom answers.`);
    }
    const candidates = (await apps.candidates()).filter((c) => accounts.includes(c.account));
    const hint = candidates.length ? `\nApps this account created that are not tracked yet:\n${candidateLines(candidates, 10, multi)}` : '';
    return notice(`Zoom has no app with id \`${inline(appId, 128)}\`${where}; nothing was changed. Copy the id from the Marketplace (Manage → Created apps).${hint}`);
  }

  const track: CommandHandler = async (ctx) => {
    const raw = unquote(ctx.args);
    if (raw === '') return usageNotice('track', 'Which app? Give its Zoom app id.');
    if (/\s/.test(raw)) return usageNotice('track', 'Give one Zoom app id (no spaces); names are not known to Zoom until the app is tracked.');
    const colon = raw.indexOf(':');
    const account = colon >= 0 ? raw.slice(0, colon) : undefined;
    const appId = colon >= 0 ? raw.slice(colon + 1) : raw;
    if (!ZOOM_APP_ID.test(appId)) {
      return usageNotice('track', `\`${inline(raw, 60).replace(/`/g, "'")}\` does not look like a Zoom app id (letters, digits, "-" and "_"); nothing was changed.`);
    }
    if (account !== undefined && !accountNames.includes(account)) {
      return notice(`There is no account \`${inline(account, 40).replace(/`/g, "'")}\`; nothing was changed. Accounts: ${accountNames.map((a) => `\`${a}\``).join(', ')}.`);
    }
    const existing = await apps.get(appId);
    if (existing) return notice(`*${inline(existing.name, 80)}* \`${inline(appId, 128)}\` is already tracked; nothing changed.`);

    const accounts = account !== undefined ? [account] : accountNames;
    void lookUpAndTrack(ctx, appId, accounts)
      .catch((err: unknown) => {
        log.error({ err, appId }, 'track failed');
        return notice(`:warning: Something went wrong while tracking \`${inline(appId, 128)}\`; it may not be tracked. Check with \`${COMMAND} status\` and try again.`);
      })
      .then((answer) => ctx.respond(answer))
      .catch((err: unknown) => warnUndelivered(log, err, 'track answer could not be delivered', { appId }));
    return notice(`:mag: Looking up \`${inline(appId, 128)}\` in Zoom… the answer will follow here.`);
  };

  const untrack: CommandHandler = async (ctx) => {
    if (ctx.args.trim() === '') return usageNotice('untrack', 'Which app?');
    const found = await resolveTracked(ctx.args, 'untrack');
    if ('answer' in found) return found.answer;
    const target = found.app;
    const open = (await options.openRequestsOf?.(target.appId)) ?? [];
    if (open.length > 0) {
      const list = open.map((r) => `\`${r.id}\` (${r.action})`).join(', ');
      return notice(
        `:no_entry: *${inline(target.name, 80)}* has an open or approved request (${list}); untracking it now would stop that request's execution checks. Cancel the request first (or let it finish). Nothing was changed.`,
      );
    }
    if (!(await apps.untrack(target.appId))) return notice(`*${inline(target.name, 80)}* was not tracked any more; nothing changed.`);
    await audit.append({
      type: 'app.untracked',
      actor: ctx.userId,
      appId: target.appId,
      account: target.account,
      summary: `<@${ctx.userId}> stopped tracking ${truncate(target.name, 80)} (${target.appId})`,
    });
    return notice(
      `Stopped tracking *${inline(target.name, 80)}* \`${inline(target.appId, 128)}\`. Its history is kept, and \`${COMMAND} track ${inline(target.appId, 128)}\` resumes watching it.`,
    );
  };

  const owner: CommandHandler = async (ctx) => {
    const args = ctx.args.trim();
    if (args === '') return usageNotice('owner', 'Which app, and who owns its migration?');
    // Escaped mentions arrive as <@U123|name> or <@U123>.
    const mention = /^([\s\S]*?)\s*<@([A-Z0-9]+)(?:\|[^>]*)?>\s*$/.exec(args);
    if (!mention) {
      const plain = /(^|\s)(@[^\s]+)\s*$/.exec(args);
      if (plain) {
        return notice(
          `\`${inline(plain[2]!, 40).replace(/`/g, "'")}\` reached me as plain text, so I can't tell which Slack user it is; nothing was changed. ` +
            `Type @ and pick the person from the autocomplete list so it becomes a mention. ` +
            `(If it still arrives as text, an admin should turn on "Escape channels, users, and links" for ${COMMAND} in the Slack app settings.)`,
        );
      }
      return usageNotice('owner', 'Who owns it? End the command with a mention of the person.');
    }
    const userId = mention[2]!;
    if (!SLACK_USER.test(userId)) return usageNotice('owner', 'The owner must be a person (a user mention), not a channel or group.');
    const query = mention[1]!.trim();
    if (query === '') return usageNotice('owner', 'Which app?');
    const found = await resolveTracked(query, 'owner');
    if ('answer' in found) return found.answer;
    const target = found.app;
    const now = services.clock();
    await apps.update(target.appId, { owner: userId, ownerSetBy: ctx.userId, ownerSetAt: now });
    await audit.append({
      type: 'app.owner',
      actor: ctx.userId,
      appId: target.appId,
      account: target.account,
      summary: `<@${ctx.userId}> made <@${userId}> the owner of ${truncate(target.name, 80)}${target.owner && target.owner !== userId ? ` (was <@${target.owner}>)` : ''}`,
      details: { owner: userId, previous: target.owner ?? null },
    });
    return notice(`<@${userId}> now owns the migration of *${inline(target.name, 80)}*${target.owner && target.owner !== userId ? ` (was <@${target.owner}>)` : ''}.`);
  };

  const migrated: CommandHandler = async (ctx) => {
    if (ctx.args.trim() === '') return usageNotice('migrated', 'Which app has its callers moved?');
    const tracked = await apps.list();
    const { query, rest } = splitAppArgs(ctx.args, tracked);
    const result = resolveApp(query, tracked, { exact: true });
    if (!result.ok) return unresolved(result, 'migrated');
    const target = result.app;
    if (target.owner !== ctx.userId && !(await ctx.isAdmin())) {
      services.metrics.accessRefusals.inc({ action: 'migrated', code: 'not_owner' });
      await audit.append({
        type: 'access.refused', actor: ctx.userId, appId: target.appId, account: target.account,
        summary: `<@${ctx.userId}> was refused marking ${truncate(target.name, 80)} as migrated (not its owner or an admin)`,
        details: { subcommand: 'migrated', code: 'not_owner' },
      });
      const who = target.owner ? `its owner (<@${target.owner}>)` : 'its owner (none is set yet: an admin sets one with `/zoomjwt owner`)';
      return notice(`:no_entry: Only ${who} or a zoomjwt admin can mark *${inline(target.name, 80)}* as migrated. Nothing was changed.`);
    }
    const note = truncate(rest.replace(/\s+/g, ' ').trim(), MAX_NOTE);
    const now = services.clock();
    await apps.update(target.appId, { migrated: true, migratedNote: note, migratedBy: ctx.userId, migratedAt: now });
    await audit.append({
      type: 'app.migrated',
      actor: ctx.userId,
      appId: target.appId,
      account: target.account,
      summary: `<@${ctx.userId}> marked ${truncate(target.name, 80)} as migrated${note ? `: ${truncate(note, 200)}` : ''}`,
      details: { note },
    });
    return notice(
      `:white_check_mark: Recorded: the callers of *${inline(target.name, 80)}* have moved, says <@${ctx.userId}>${note ? ` — “${inline(note, MAX_NOTE)}”` : ''}. ` +
        `The call logs will tell whether anything still uses it.`,
    );
  };

  const poll: CommandHandler = async (ctx) => {
    const arg = ctx.args.trim();
    if (arg !== '' && !accountNames.includes(arg)) {
      return usageNotice('poll', `There is no account \`${inline(arg, 40).replace(/`/g, "'")}\`; accounts: ${accountNames.map((a) => `\`${a}\``).join(', ')}.`);
    }
    const targets = arg ? [arg] : accountNames;
    const outcomes: EnqueueOutcome[] = await Promise.all(targets.map((a) => enqueuePoll(services, a)));
    const joined = targets.filter((_, i) => outcomes[i] !== 'queued');
    const joinedText = joined.length
      ? ` (a poll of ${joined.map((a) => `*${inline(a, 40)}*`).join(', ')} was already ${joined.length === 1 && outcomes[targets.indexOf(joined[0]!)] === 'running' ? 'running' : 'under way'}; this request joins it)`
      : '';
    const text = `:arrows_counterclockwise: Polling ${targets.length} account${targets.length === 1 ? '' : 's'} now…${joinedText} \`${COMMAND} status\` shows the result in a minute.`;
    return message(text, [section(text)]);
  };

  return {
    name: 'evidence',
    commands: { status, app, track, untrack, owner, migrated, poll },
    processors: { poll: { [POLL_JOB]: createPollProcessor(services) } },
    schedule: () => schedulePolls(services),
  };
}
