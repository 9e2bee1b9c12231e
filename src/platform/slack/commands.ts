/**
 * `/zoomjwt` routing: parse the text, pick the subcommand's handler, acknowledge with its answer.
 * Handlers read stored data and answer at once; anything slow is queued or answered later through
 * `respond`. A handler that overruns its budget is acknowledged with "working on it" and its
 * answer follows, so Slack's 3-second deadline always holds.
 */
import { randomUUID } from 'node:crypto';
import type { App } from '@slack/bolt';
import type { Logger } from '../../log';
import type { Metrics } from '../../metrics';
import type { Access, Role } from './access';
import { COMMAND } from './ids';
import { warnUndelivered } from './transport';
import { helpMessage } from './help';
import { notice, serializedOf, type SlackMessage } from './blocks';
import { fallbackOf, sendWithFallback } from './native';
import { type NativeSupport } from './stores/nativeRefusals';
import type { Clock } from '../../kernel/clock';

export const SUBCOMMANDS = [
  'status', 'app', 'track', 'untrack', 'owner', 'migrated', 'disable', 'enable', 'remove',
  'requests', 'audit', 'poll', 'digest', 'help',
] as const;
export type Subcommand = (typeof SUBCOMMANDS)[number];

/**
 * Who may run each subcommand (SPEC §5.5). `migrated` is open to members here and narrowed to
 * the app's owner or an admin by its handler, which knows the app.
 */
export const COMMAND_ROLE: Record<Subcommand, Role> = {
  help: 'anyone',
  status: 'member', app: 'member', requests: 'member', audit: 'member',
  disable: 'member', enable: 'member', remove: 'member', migrated: 'member',
  track: 'admin', untrack: 'admin', owner: 'admin', poll: 'admin', digest: 'admin',
};

/** Subcommands that change something: a refused attempt at one goes to the audit log. */
export const CHANGES_STATE: ReadonlySet<Subcommand> = new Set(['disable', 'enable', 'remove', 'migrated', 'track', 'untrack', 'owner', 'poll', 'digest']);

/** Longest command text accepted; Slack allows more, nothing legitimate needs it. */
export const MAX_COMMAND_TEXT = 2000;
/** Past this, the ack says "working on it" and the answer follows via response_url. */
const HANDLER_BUDGET_MS = 2000;

export interface CommandContext {
  userId: string;
  teamId: string;
  channelId: string;
  /** Slack's trigger for opening a modal (3 s, single use); empty when the payload had none. */
  triggerId: string;
  /** Text after the subcommand, trimmed. */
  args: string;
  now: number;
  /** Whether the sender is a zoomjwt admin (for checks that depend on the app, like `migrated`). */
  isAdmin(): Promise<boolean>;
  /** Posts a later answer to the command's response_url (ephemeral unless the message says otherwise). */
  respond(msg: SlackMessage): Promise<void>;
}

export type CommandHandler = (ctx: CommandContext) => Promise<SlackMessage>;
export type CommandTable = Partial<Record<Subcommand, CommandHandler>>;

export function parseCommandText(text: string): { sub: string; args: string } {
  const trimmed = text.trim();
  const space = trimmed.search(/\s/);
  if (space === -1) return { sub: trimmed.toLowerCase(), args: '' };
  return { sub: trimmed.slice(0, space).toLowerCase(), args: trimmed.slice(space + 1).trim() };
}

const isSubcommand = (s: string): s is Subcommand => (SUBCOMMANDS as readonly string[]).includes(s);

/** A sentence for the user and a reference for the log; never the exception itself. */
function failureMessage(ref: string): SlackMessage {
  return notice(`:warning: Something went wrong on our side and nothing was changed. Try again in a minute; if it keeps happening, give your admin this reference: \`${ref}\`.`);
}

/** Refusal to show when the sender may not run `sub`, or undefined when they may. */
async function refusalFor(
  sub: Subcommand,
  ctx: CommandContext,
  deps: { access: Access; metrics: Metrics; log: Logger; onRefused: (a: { userId: string; subcommand: Subcommand; code: string }) => Promise<void> },
): Promise<SlackMessage | undefined> {
  const verdict = await deps.access.check(ctx.userId, COMMAND_ROLE[sub]);
  if (verdict.ok) return undefined;
  deps.metrics.accessRefusals.inc({ action: sub, code: verdict.code });
  if (CHANGES_STATE.has(sub) && verdict.code !== 'unavailable') {
    await deps.onRefused({ userId: ctx.userId, subcommand: sub, code: verdict.code }).catch((err: unknown) =>
      deps.log.error({ err: { message: (err as Error).message }, subcommand: sub }, 'could not audit a refused command'),
    );
  }
  return notice(verdict.message);
}

export function registerCommands(
  app: App,
  table: CommandTable,
  deps: {
    log: Logger;
    metrics: Metrics;
    clock: Clock;
    /**
     * HTTP mode: an answer serialized once (serializeOnce) is acked as its JSON text; the HTTP
     * server declares every slash-command answer JSON. (In Socket Mode an ack is an object.)
     */
    rawAcks?: boolean;
    access: Access;
    /** Whether this install refuses native charts and tables; without it, their fallbacks are sent. */
    native?: NativeSupport;
    /** A refused attempt to change state, for the audit log; failures are the caller's to log. */
    onRefused(attempt: { userId: string; subcommand: Subcommand; code: string }): Promise<void>;
  },
): void {
  const authorized = (sub: Subcommand, ctx: CommandContext) => refusalFor(sub, ctx, deps);
  app.command(COMMAND, async ({ command, ack, respond }) => {
    const started = deps.clock();
    const text = command.text ?? '';
    const { sub, args } = parseCommandText(text.length > MAX_COMMAND_TEXT ? '' : text);
    const label = text.length > MAX_COMMAND_TEXT ? 'oversized' : isSubcommand(sub) ? sub : sub === '' ? 'empty' : 'unknown';
    deps.metrics.slackCommands.inc({ subcommand: label });
    // Built only when something is logged: a child logger per request is a measurable cost on the ack path.
    const log = () => deps.log.child({ command: label, user: command.user_id });

    if (text.length > MAX_COMMAND_TEXT) {
      await ack(notice(`That command is too long (${text.length} characters; the limit is ${MAX_COMMAND_TEXT}). Nothing was changed.`));
      return;
    }
    if (sub === '' || sub === 'help') {
      await ack(helpMessage());
      return;
    }
    if (!isSubcommand(sub)) {
      await ack(helpMessage(`I don't know \`${sub.slice(0, 40).replace(/[`<>&]/g, '')}\`. Here is what I can do:`));
      return;
    }
    const handler = table[sub];
    if (!handler) {
      await ack(notice(`\`${COMMAND} ${sub}\` is not available yet in this version of zoomjwt.`));
      return;
    }

    const ctx: CommandContext = {
      userId: command.user_id,
      teamId: command.team_id,
      channelId: command.channel_id,
      triggerId: typeof command.trigger_id === 'string' ? command.trigger_id : '',
      args,
      now: started,
      isAdmin: () => deps.access.isAdmin(command.user_id),
      respond: async (msg) => {
        await respond({ response_type: 'ephemeral', ...msg });
      },
    };
    // The role check runs inside the handler's budget: a slow users.info is acked as "working on it".
    const work = authorized(sub, ctx).then((refusal) => refusal ?? handler(ctx)).catch((err: unknown) => {
      const ref = randomUUID().slice(0, 8);
      log().error({ err, ref }, 'command failed');
      return failureMessage(ref);
    });
    let timer: NodeJS.Timeout | undefined;
    const overrun = new Promise<'overrun'>((resolve) => {
      timer = setTimeout(() => resolve('overrun'), HANDLER_BUDGET_MS);
    });
    const first = await Promise.race([work, overrun]);
    clearTimeout(timer);
    const deliver = (msg: SlackMessage) =>
      sendWithFallback(msg, deps.native, ctx.respond, () => log().info('Slack refused native blocks; sent the text fallback and remembered it for this install'));
    if (first !== 'overrun' && fallbackOf(first)) {
      /*
       * An answer with native blocks (a chart, a table) is not acked: a refused ack body is no API
       * error (Slack just shows nothing). Unless this install is known to refuse them, the ack is
       * empty and the answer goes to the response_url, which does answer invalid_blocks; then the
       * text fallback follows there. Once refused, later answers are acked as the fallback at once.
       */
      const refused = deps.native ? await deps.native.refused().catch(() => true) : true;
      if (refused) {
        await ack(fallbackOf(first));
        return;
      }
      await ack();
      try {
        await deliver(first);
      } catch (err) {
        warnUndelivered(log(), err, 'answer could not be delivered');
      }
      return;
    }
    if (first !== 'overrun') {
      const raw = deps.rawAcks ? serializedOf(first) : undefined;
      await (raw !== undefined ? ack(raw) : ack(first));
      if (deps.log.isLevelEnabled('debug')) log().debug({ ms: deps.clock() - started }, 'command answered');
      return;
    }
    await ack(notice(':hourglass_flowing_sand: Working on it — the answer will follow here.'));
    const late = await work;
    try {
      await deliver(late);
    } catch (err) {
      warnUndelivered(log(), err, 'late answer could not be delivered');
    }
  });
}
