/**
 * The strings of a Slack message that Slack reads as mrkdwn or notifies from: fallback `text` and
 * every text object except `plain_text` ones (headers, buttons, dialogs, which Slack shows as typed
 * and never parses for mentions or links), leaving out ids and button values.
 */
export function mrkdwnStrings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) mrkdwnStrings(v, out);
  else if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (o.type === 'plain_text') return out;
    for (const [k, v] of Object.entries(o)) if (k !== 'action_id' && k !== 'block_id' && k !== 'value') mrkdwnStrings(v, out);
  }
  return out;
}
