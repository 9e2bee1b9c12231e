/**
 * Block Kit building blocks. Every message carries a plain-text fallback; texts are clipped to
 * Slack's limits here so no view can produce an invalid message.
 */
import type { types } from '@slack/bolt';
import { truncate } from '../../kernel/format';

export type Block = types.KnownBlock;

export interface SlackMessage {
  text: string;
  blocks?: Block[];
  response_type?: 'ephemeral' | 'in_channel';
  replace_original?: boolean;
}

const serialized = new WeakMap<SlackMessage, string>();

/**
 * For a message answered many times as it is (a cached status): its JSON, computed once here,
 * goes out as the ack instead of being serialized again per request. The message must not be
 * changed afterwards.
 */
export function serializeOnce<T extends SlackMessage>(msg: T): T {
  serialized.set(msg, JSON.stringify(msg));
  return msg;
}

/** The JSON kept by serializeOnce, if any. */
export const serializedOf = (msg: SlackMessage): string | undefined => serialized.get(msg);

/** Slack's limits (characters / items). */
export const LIMITS = { sectionText: 3000, headerText: 150, contextElements: 10, blocks: 50, fallback: 3000, fieldText: 2000 } as const;

/** Clips to a Slack limit, never inside an emoji (see truncate). */
export function clip(text: string, max: number): string {
  return truncate(text, max);
}

export const header = (text: string): Block => ({ type: 'header', text: { type: 'plain_text', text: clip(text, LIMITS.headerText), emoji: true } });

export const section = (mrkdwn: string, accessory?: types.Button): Block => ({
  type: 'section',
  text: { type: 'mrkdwn', text: clip(mrkdwn, LIMITS.sectionText) },
  ...(accessory ? { accessory } : {}),
});

export const fields = (items: string[]): Block => ({
  type: 'section',
  fields: items.slice(0, 10).map((t) => ({ type: 'mrkdwn' as const, text: clip(t, LIMITS.fieldText) })),
});

export const context = (...items: string[]): Block => ({
  type: 'context',
  elements: items.slice(0, LIMITS.contextElements).map((t) => ({ type: 'mrkdwn' as const, text: clip(t, LIMITS.fieldText) })),
});

export const divider = (): Block => ({ type: 'divider' });

export function button(
  text: string,
  actionId: string,
  value: string,
  style?: 'primary' | 'danger',
  confirm?: types.ConfirmationDialog,
): types.Button {
  return {
    type: 'button',
    text: { type: 'plain_text', text: clip(text, 75), emoji: true },
    action_id: actionId,
    value,
    ...(style ? { style } : {}),
    ...(confirm ? { confirm } : {}),
  };
}

export const actions = (blockId: string, elements: types.Button[]): Block => ({ type: 'actions', block_id: blockId, elements });

/** A message with a fallback and at most 50 blocks (the last one says what was cut). */
export function message(text: string, blocks: Block[], responseType: 'ephemeral' | 'in_channel' = 'ephemeral'): SlackMessage {
  const fitted = blocks.length <= LIMITS.blocks ? blocks : [...blocks.slice(0, LIMITS.blocks - 1), context(`_${blocks.length - LIMITS.blocks + 1} more blocks not shown._`)];
  return { text: clip(text, LIMITS.fallback), blocks: fitted, response_type: responseType };
}

/** A short ephemeral answer: one section, same text as fallback. */
export function notice(text: string): SlackMessage {
  return message(text, [section(text)]);
}

/** A Slack date token: shown in the reader's time zone, with a UTC fallback. */
export function slackTime(ms: number): string {
  const fallback = `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time}|${fallback}>`;
}
