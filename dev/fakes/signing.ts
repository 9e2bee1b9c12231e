/**
 * Builds requests exactly as Slack sends them: form-encoded bodies with the bare content type,
 * signed with v0 HMAC-SHA256 over `v0:{timestamp}:{body}`.
 */
import { createHmac } from 'node:crypto';

export interface SignedRequestOptions {
  signingSecret: string;
  /** Unix seconds; defaults to now. */
  timestamp?: number;
  /** Override the signature (forgery tests). `null` sends no signature header. */
  signature?: string | null;
  /** The request's content type; Slack's bare form type unless told. */
  contentType?: string;
}

/** An answer's body as a JSON object, or undefined when it is empty or not JSON. */
export function jsonOrUndefined(text: string): Record<string, unknown> | undefined {
  try {
    return text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function sign(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export interface CommandFields {
  text?: string;
  user_id?: string;
  user_name?: string;
  team_id?: string;
  channel_id?: string;
  response_url?: string;
  trigger_id?: string;
  command?: string;
}

export function commandBody(fields: CommandFields): string {
  return new URLSearchParams({
    token: 'deprecated-verification-token',
    team_id: fields.team_id ?? 'T0TEST',
    team_domain: 'fake',
    channel_id: fields.channel_id ?? 'C0CMD',
    channel_name: 'ops',
    user_id: fields.user_id ?? 'U0ALICE',
    user_name: fields.user_name ?? 'alice',
    command: fields.command ?? '/zoomjwt',
    text: fields.text ?? '',
    api_app_id: 'A0ZOOMJWT',
    is_enterprise_install: 'false',
    response_url: fields.response_url ?? 'http://127.0.0.1:9/respond/none',
    trigger_id: fields.trigger_id ?? '123.456.abc',
  }).toString();
}

export interface ActionFields {
  action_id: string;
  value: string;
  user_id?: string;
  team_id?: string;
  channel_id?: string;
  message_ts?: string;
  response_url?: string;
  block_id?: string;
}

export function actionBody(fields: ActionFields): string {
  const teamId = fields.team_id ?? 'T0TEST';
  const channel = fields.channel_id ?? 'C0APPROVALS';
  const ts = fields.message_ts ?? '1700000001.000001';
  const payload = {
    type: 'block_actions',
    user: { id: fields.user_id ?? 'U0BOB', username: 'bob', name: 'bob', team_id: teamId },
    api_app_id: 'A0ZOOMJWT',
    token: 'deprecated-verification-token',
    container: { type: 'message', message_ts: ts, channel_id: channel, is_ephemeral: false },
    trigger_id: '123.456.def',
    team: { id: teamId, domain: 'fake' },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: channel, name: 'approvals' },
    message: { type: 'message', ts, text: 'card', blocks: [] },
    state: { values: {} },
    response_url: fields.response_url ?? 'http://127.0.0.1:9/respond/none',
    actions: [
      {
        type: 'button',
        action_id: fields.action_id,
        block_id: fields.block_id ?? 'actions',
        value: fields.value,
        text: { type: 'plain_text', text: 'button' },
        action_ts: `${Math.floor(Date.now() / 1000)}.000200`,
      },
    ],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

export interface PostResult {
  status: number;
  body: string;
  /** The parsed body, when the answer is declared `application/json`. */
  json: Record<string, unknown> | undefined;
  contentType: string;
  ms: number;
}

/** POSTs a body to the receiver, signed unless told otherwise. */
export async function postSigned(url: string, body: string, opts: SignedRequestOptions): Promise<PostResult> {
  const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    'content-type': opts.contentType ?? 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(timestamp),
  };
  const signature = opts.signature === undefined ? sign(opts.signingSecret, timestamp, body) : opts.signature;
  if (signature !== null) headers['x-slack-signature'] = signature;
  const started = performance.now();
  const res = await fetch(url, { method: 'POST', headers, body });
  const text = await res.text();
  const ms = performance.now() - started;
  // Slack reads an answer as a message only when it is declared JSON; so does this helper.
  const contentType = res.headers.get('content-type') ?? '';
  const json = /^application\/json\b/.test(contentType) ? jsonOrUndefined(text) : undefined;
  return { status: res.status, body: text, json, ms, contentType };
}
