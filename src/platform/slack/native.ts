/**
 * Slack's native charts and tables (`data_visualization`, `table`; docs.slack.dev Block Kit
 * reference) and their fallback. A view that uses them renders twice: the native message, and
 * the message of before (text sparkline, monospace columns) kept with it by `withFallback`. A
 * workspace or client too old for the blocks answers `invalid_blocks`; then the fallback goes out
 * instead and the refusal is remembered in Redis for the install, so later messages go straight
 * to the fallback. The fallback is kept in a WeakMap, never on the message: nothing of it is sent.
 *
 * Limits held here (the fake Slack checks the same, see dev/fakes/blockKit.ts): a chart title of at
 * most 50 characters, at most 6 series of at most 20 data points, labels and series names of at
 * most 20; a table of at most 100 rows of at most 20 cells.
 */
import { truncate } from '../../kernel/format';
import type { Block, SlackMessage } from './blocks';
import type { NativeSupport } from './stores/nativeRefusals';


export const CHART_LIMITS = { title: 50, points: 20, label: 20, seriesName: 20, axisLabel: 50, series: 6 } as const;
export const TABLE_LIMITS = { rows: 100, cells: 20 } as const;

const fallbacks = new WeakMap<SlackMessage, SlackMessage>();

/** Keeps `fallback` with `native`: what goes out when the install refuses native blocks. */
export function withFallback(native: SlackMessage, fallback: SlackMessage): SlackMessage {
  fallbacks.set(native, fallback);
  return native;
}

/** The fallback of a message that uses native blocks; undefined for any other message. */
export const fallbackOf = (msg: SlackMessage): SlackMessage | undefined => fallbacks.get(msg);

/**
 * Whether an error of a Web API call or a response_url post is Slack refusing the blocks. The Web
 * API says `invalid_blocks`; a response_url answers HTTP 400 with `invalid_blocks` as its text,
 * but Bolt's respond keeps only the status (RespondError), so a 400 counts as the refusal there:
 * the same message's fallback is held to the same limits, so nothing else in it can be refused.
 */
export function isInvalidBlocks(err: unknown): boolean {
  const e = err as { data?: unknown; message?: unknown; response?: { data?: unknown }; code?: unknown; statusCode?: unknown } | undefined;
  if (!e) return false;
  if (e.code === 'slack_bolt_respond_error' && e.statusCode === 400) return true;
  const data = e.data as { error?: unknown } | string | undefined;
  if (typeof data === 'object' && data?.error === 'invalid_blocks') return true;
  if (typeof data === 'string' && data.includes('invalid_blocks')) return true;
  if (typeof e.response?.data === 'string' && e.response.data.includes('invalid_blocks')) return true;
  return typeof e.message === 'string' && e.message.includes('invalid_blocks');
}

/**
 * Sends `msg` with `send`; a message with a fallback goes out as its fallback when the install
 * is known to refuse native blocks, or again as its fallback when Slack refuses it now.
 */
export async function sendWithFallback<T>(
  msg: SlackMessage,
  support: NativeSupport | undefined,
  send: (m: SlackMessage) => Promise<T>,
  onRefused?: () => void,
): Promise<T> {
  const fallback = fallbackOf(msg);
  if (!fallback || !support) return send(fallback ?? msg);
  if (await support.refused().catch(() => false)) return send(fallback);
  try {
    return await send(msg);
  } catch (err) {
    if (!isInvalidBlocks(err)) throw err;
    onRefused?.();
    await support.markRefused().catch(() => undefined);
    return send(fallback);
  }
}

/**
 * A `table` block: a header row and at most 99 rows, at most 20 columns. Cells are raw_text,
 * which Slack shows as written (no mrkdwn), so outside text needs no escaping here.
 */
export function tableBlock(header: string[], rows: string[][], align: Array<'left' | 'right'> = []): Block {
  const width = Math.min(header.length, TABLE_LIMITS.cells);
  const cell = (text: string) => ({ type: 'raw_text', text: truncate(text, 500) || '-' });
  return {
    type: 'table',
    rows: [header, ...rows.slice(0, TABLE_LIMITS.rows - 1)].map((r) => r.slice(0, width).map(cell)),
    ...(align.length ? { column_settings: align.slice(0, width).map((a) => ({ align: a })) } : {}),
  } as unknown as Block;
}
