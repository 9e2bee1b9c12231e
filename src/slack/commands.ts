/**
 * `/zoomjwt` routing: parse the text, pick the subcommand's handler, acknowledge with its answer.
 * Handlers read stored data and answer at once; anything slow is queued or answered later through
 * `respond`. A handler that overruns its budget is acknowledged with "working on it" and its
 * answer follows, so Slack's 3-second deadline always holds.
 */
import { randomUUID } from 'node:crypto';
import type { App } from '@slack/bolt';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import { COMMAND } from './ids';
import { helpMessage } from './views/help';
import { notice, serializedOf, type SlackMessage } from './blocks';

export const SUBCOMMANDS = [
  'status', 'app', 'track', 'untrack', 'owner', 'migrated', 'disable', 'enable', 'remove',
  'requests', 'audit', 'poll', 'digest', 'help',
] as const;
export type Subcommand = (typeof SUBCOMMANDS)[number];

/** Longest command text accepted; Slack allows more, nothing legitimate needs it. */
export const MAX_COMMAND_TEXT = 2000;
/** Past this, the ack says "working on it" and the answer follows via response_url. */
const HANDLER_BUDGET_MS = 2000;

export interface CommandContext {
  userId: string;
  teamId: string;
  channelId: string;
  /** Text after the subcommand, trimmed. */
  args: string;
  now: number;
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

export function registerCommands(
  app: App,
  table: CommandTable,
  deps: {
    log: Logger;
    metrics: Metrics;
    clock: () => number;
    /**
     * HTTP mode: an answer serialized once (serializeOnce) is acked as its JSON text; the HTTP
     * server declares every slash-command answer JSON. (In Socket Mode an ack is an object.)
     */
    rawAcks?: boolean;
  },
): void {
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
      args,
      now: started,
      respond: async (msg) => {
        await respond({ response_type: 'ephemeral', ...msg });
      },
    };
    const work = handler(ctx).catch((err: unknown) => {
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
    if (first !== 'overrun') {
      const raw = deps.rawAcks ? serializedOf(first) : undefined;
      await (raw !== undefined ? ack(raw) : ack(first));
      if (deps.log.isLevelEnabled('debug')) log().debug({ ms: deps.clock() - started }, 'command answered');
      return;
    }
    await ack(notice(':hourglass_flowing_sand: Working on it — the answer will follow here.'));
    const late = await work;
    try {
      await ctx.respond(late);
    } catch (err) {
      log().warn({ err: { message: (err as Error).message } }, 'late answer could not be delivered');
    }
  });
}
