/**
 * The gate in front of Bolt's receiver for `POST /slack/events`, and the first of two signature
 * checks (Bolt's own is the second). Before any listener runs it answers Slack's unsigned SSL
 * check itself (200, never forwarded) and refuses: oversized bodies (413), a missing or bad
 * signature or a timestamp more than 5 minutes away in either direction (401), a signed body that
 * is none of the kinds Slack sends here (400), and requests from another workspace or org (403).
 * What it forwards is the request whose bytes it verified. Refusals are logged at info level: a
 * forged request is noise, not an error of ours.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { HTTPModuleFunctions } from '@slack/bolt';
import type { Logger } from '../../log';
import type { Clock } from '../../kernel/clock';

/** Slack's own replay window, applied in both directions. */
export const MAX_CLOCK_SKEW_S = 300;
/** Interactivity payloads carry the whole message (≤ 50 blocks); 1 MiB is far above any real one. */
export const BODY_LIMIT_BYTES = 1024 * 1024;

export type GuardOutcome =
  /** `command`: a slash command, whose answer is always a JSON message. */
  | { ok: true; req: IncomingMessage; command: boolean }
  /** Answered here and never forwarded; status 200 is Slack's SSL check. */
  | { ok: false; status: number; reason: string };

/** Where the app is installed: a workspace and, on Enterprise Grid, the org it belongs to. */
export interface Installation {
  teamId?: string;
  enterpriseId?: string;
}

export interface GuardOptions {
  signingSecret: string;
  /** The installed workspace and, on Enterprise Grid, its org (from auth.test), when known. */
  install: () => Installation;
  clock: Clock;
  log: Logger;
  bodyLimit?: number;
}

/** Slack user ids: U… (workspace) or W… (Enterprise Grid). */
const SLACK_USER = /^[UW][A-Z0-9]{2,}$/;

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The body read once: the form fields (or the JSON object) and, for interactivity, its payload. */
interface ParsedBody {
  form?: ReturnType<typeof parseQuery>;
  json?: unknown;
  payload?: unknown;
  unparseable?: true;
}

function parseBody(contentType: string | undefined, raw: string): ParsedBody {
  try {
    // Bolt form-decodes only this exact type and JSON-parses every other body.
    if (contentType !== 'application/x-www-form-urlencoded') return { json: JSON.parse(raw) as unknown };
    const form = parseQuery(raw);
    return typeof form.payload === 'string' ? { form, payload: JSON.parse(form.payload) as unknown } : { form };
  } catch {
    return { unparseable: true };
  }
}

const SSL_CHECK = /^ssl_check$/i;
const namesSslCheck = (v: unknown): boolean => isObject(v) && Object.keys(v).some((k) => SSL_CHECK.test(k));

/**
 * Slack's SSL check (a form POST of `ssl_check=1&token=…`) is the one request Slack sends
 * unsigned. Whatever else a body carries, if it names `ssl_check` anywhere Bolt or we would look
 * (a form field, a JSON key, a key of the interactivity payload; any casing), it is answered
 * here with an empty 200 and goes no further: answering costs nothing, forwarding is how unsigned
 * bodies once reached the listeners.
 */
function isSslCheck(raw: string, body: ParsedBody): boolean {
  if (body.form && namesSslCheck(body.form)) return true;
  if (namesSslCheck(body.json) || namesSslCheck(body.payload)) return true;
  // Unparseable bodies too: `ssl_check` written anywhere in one is never a request we act on.
  return body.unparseable === true && /ssl_check/i.test(raw);
}

/** JSON bodies Slack sends to a request URL: Events API deliveries and its handshakes. */
const JSON_TYPES = new Set(['url_verification', 'event_callback', 'app_rate_limited']);

/**
 * What the body is, or why it is none of the kinds Slack sends here. Bolt trusts signed payloads;
 * a signed but malformed one (a replayed fixture, a buggy proxy, a stolen secret) gets a 400 at
 * once, instead of crashing a listener or waiting for Bolt's 3-second timeout.
 */
function classify(body: ParsedBody): { kind: 'command' | 'interaction' | 'event' } | { problem: string } {
  if (body.unparseable) return { problem: 'unparseable payload' };
  if (!body.form) {
    if (!isObject(body.json)) return { problem: 'JSON body is not an object' };
    return typeof body.json.type === 'string' && JSON_TYPES.has(body.json.type) ? { kind: 'event' } : { problem: 'JSON body is not an Events API delivery' };
  }
  const { form, payload } = body;
  for (const [field, value] of Object.entries(form)) {
    if (Array.isArray(value)) return { problem: `field ${field} given more than once` };
  }
  if (form.payload !== undefined && form.command !== undefined) return { problem: 'payload and command fields together' };
  if (form.payload !== undefined) {
    if (!isObject(payload) || typeof payload.type !== 'string') return { problem: 'payload has no type' };
    if (payload.command !== undefined) return { problem: 'interaction payload with command fields' };
    const user = payload.user;
    if (!isObject(user) || typeof user.id !== 'string' || !SLACK_USER.test(user.id)) return { problem: 'interaction without a valid user' };
    if (payload.type === 'block_actions') {
      const acts = payload.actions;
      if (!Array.isArray(acts) || acts.length === 0 || !acts.every((a) => isObject(a) && typeof a.action_id === 'string')) return { problem: 'block_actions without actions' };
    }
    return { kind: 'interaction' };
  }
  if (form.command !== undefined) {
    for (const field of ['command', 'user_id', 'channel_id', 'team_id']) {
      if (typeof form[field] !== 'string') return { problem: `slash command without a ${field}` };
    }
    if (!SLACK_USER.test(form.user_id as string)) return { problem: 'slash command without a valid user id' };
    return { kind: 'command' };
  }
  return { problem: 'neither a slash command nor an interaction payload' };
}

/** The workspace a request claims, and its Enterprise Grid org when it names one. */
function origin(body: ParsedBody): { team?: string; enterprise?: string } {
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  if (body.json !== undefined) {
    const j = isObject(body.json) ? body.json : {};
    return { team: str(j.team_id), enterprise: str(j.enterprise_id) };
  }
  if (body.form && body.form.payload === undefined) return { team: str(body.form.team_id), enterprise: str(body.form.enterprise_id) };
  if (isObject(body.payload)) {
    const p = body.payload as { team?: { id?: unknown } | null; user?: { team_id?: unknown }; enterprise?: { id?: unknown } | null };
    return { team: str(p.team?.id) ?? str(p.user?.team_id), enterprise: str(p.enterprise?.id) };
  }
  return {};
}

/**
 * Slack's v0 signature: HMAC-SHA256 of `v0:{timestamp}:{body}`, compared in constant time. (Bolt's
 * own check compares through two extra HMACs; on the ack path, one is enough.)
 */
export function signatureMatches(secret: string, timestamp: string, raw: string, signature: string): boolean {
  const expected = Buffer.from(`v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${raw}`).digest('hex')}`);
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export async function guardSlackRequest(req: IncomingMessage, opts: GuardOptions): Promise<GuardOutcome> {
  const limit = opts.bodyLimit ?? BODY_LIMIT_BYTES;
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return { ok: false, status: 413, reason: 'body too large' };
  let buffered: IncomingMessage & { rawBody: Buffer };
  try {
    buffered = await HTTPModuleFunctions.bufferIncomingMessage(req, limit);
  } catch (err) {
    const tooLarge = (err as { type?: string }).type === 'entity.too.large';
    return { ok: false, status: tooLarge ? 413 : 400, reason: tooLarge ? 'body too large' : 'unreadable body' };
  }
  const raw = buffered.rawBody.toString('utf8');
  const body = parseBody(req.headers['content-type'], raw);
  if (isSslCheck(raw, body)) return { ok: false, status: 200, reason: 'ssl check' };
  const tsHeader = req.headers['x-slack-request-timestamp'];
  const signature = req.headers['x-slack-signature'];
  if (typeof signature !== 'string' || typeof tsHeader !== 'string' || !/^\d{1,12}$/.test(tsHeader)) {
    return { ok: false, status: 401, reason: 'unsigned request' };
  }
  if (Math.abs(opts.clock() / 1000 - Number(tsHeader)) > MAX_CLOCK_SKEW_S) {
    return { ok: false, status: 401, reason: 'timestamp outside the 5-minute window' };
  }
  if (!signatureMatches(opts.signingSecret, tsHeader, raw, signature)) return { ok: false, status: 401, reason: 'bad signature' };
  const what = classify(body);
  if ('problem' in what) return { ok: false, status: 400, reason: what.problem };
  const installed = opts.install();
  const claimed = origin(body);
  if (installed.teamId && claimed.team && claimed.team !== installed.teamId && !(installed.enterpriseId && claimed.enterprise === installed.enterpriseId)) {
    return { ok: false, status: 403, reason: `request from another workspace (${claimed.team})` };
  }
  if (installed.enterpriseId && claimed.enterprise && claimed.enterprise !== installed.enterpriseId) {
    return { ok: false, status: 403, reason: `request from another Enterprise Grid org (${claimed.enterprise})` };
  }
  // Bolt parses `buffered.rawBody`: the very bytes whose signature was just checked.
  return { ok: true, req: buffered, command: what.kind === 'command' };
}

export function refuse(res: ServerResponse, outcome: { status: number }): void {
  if (outcome.status === 200) {
    // Slack's SSL check: an empty 200 is the whole answer.
    res.writeHead(200, { 'content-length': '0' }).end();
    return;
  }
  res.writeHead(outcome.status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(outcome.status === 413 ? 'payload too large' : outcome.status === 400 ? 'bad request' : 'refused');
}
