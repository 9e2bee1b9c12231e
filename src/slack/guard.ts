/**
 * The gate in front of Bolt's receiver for `POST /slack/events`. Bolt verifies signatures but
 * accepts timestamps from the future and any workspace; this guard refuses, before any listener
 * runs: oversized bodies (413), timestamps more than 5 minutes away in either direction or a bad
 * signature (401), and requests from another workspace (403). Refusals are logged at info level:
 * a forged request is noise, not an error of ours.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { HTTPModuleFunctions } from '@slack/bolt';
import type { Logger } from '../log';

/** Slack's own replay window, applied in both directions. */
export const MAX_CLOCK_SKEW_S = 300;
/** Interactivity payloads carry the whole message (≤ 50 blocks); 1 MiB is far above any real one. */
export const BODY_LIMIT_BYTES = 1024 * 1024;

export type GuardOutcome =
  /** `command`: a slash command, whose answer is always a JSON message. */
  | { ok: true; req: IncomingMessage; command: boolean }
  | { ok: false; status: number; reason: string };

export interface GuardOptions {
  signingSecret: string;
  /** The installed workspace (from auth.test), when known. */
  teamId: () => string | undefined;
  clock: () => number;
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

/**
 * The minimal shape Bolt's dispatch relies on. Bolt trusts signed payloads; a signed but
 * malformed one (a replayed fixture, a buggy proxy) must get a 400, not crash a listener.
 */
function shapeProblem(body: ParsedBody): string | undefined {
  if (body.unparseable) return 'unparseable payload';
  if (!body.form) return isObject(body.json) ? undefined : 'JSON body is not an object';
  const { form, payload } = body;
  if (typeof form.payload === 'string') {
    if (!isObject(payload) || typeof payload.type !== 'string') return 'payload has no type';
    if (payload.type === 'block_actions') {
      const acts = payload.actions;
      const user = payload.user;
      if (!Array.isArray(acts) || acts.length === 0 || !acts.every((a) => isObject(a) && typeof a.action_id === 'string')) return 'block_actions without actions';
      if (!isObject(user) || typeof user.id !== 'string' || !SLACK_USER.test(user.id)) return 'block_actions without a valid user';
    }
    return undefined;
  }
  if (form.command !== undefined) {
    for (const field of ['command', 'user_id', 'channel_id', 'team_id']) {
      if (typeof form[field] !== 'string') return `slash command without a single ${field}`;
    }
    if (form.text !== undefined && typeof form.text !== 'string') return 'slash command with several texts';
    if (!SLACK_USER.test(form.user_id as string)) return 'slash command without a valid user id';
  }
  return undefined;
}

function teamOf(body: ParsedBody): string | undefined {
  if (body.json !== undefined) {
    const id = isObject(body.json) ? body.json.team_id : undefined;
    return typeof id === 'string' ? id : undefined;
  }
  if (typeof body.form?.team_id === 'string') return body.form.team_id;
  if (isObject(body.payload)) {
    const p = body.payload as { team?: { id?: unknown } | null; user?: { team_id?: unknown } };
    const id = p.team?.id ?? p.user?.team_id;
    return typeof id === 'string' ? id : undefined;
  }
  return undefined;
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
  const contentType = req.headers['content-type'];
  const body = parseBody(contentType, raw);
  // Slack's unsigned SSL check: Bolt answers it and strips everything else from the body.
  if (body.form?.ssl_check === '1') return { ok: true, req: buffered, command: false };
  const tsHeader = req.headers['x-slack-request-timestamp'];
  const signature = req.headers['x-slack-signature'];
  if (typeof signature !== 'string' || typeof tsHeader !== 'string' || !/^\d{1,12}$/.test(tsHeader)) {
    return { ok: false, status: 401, reason: 'unsigned request' };
  }
  if (Math.abs(opts.clock() / 1000 - Number(tsHeader)) > MAX_CLOCK_SKEW_S) {
    return { ok: false, status: 401, reason: 'timestamp outside the 5-minute window' };
  }
  if (!signatureMatches(opts.signingSecret, tsHeader, raw, signature)) return { ok: false, status: 401, reason: 'bad signature' };
  const problem = shapeProblem(body);
  if (problem) return { ok: false, status: 400, reason: problem };
  const installed = opts.teamId();
  const team = teamOf(body);
  if (installed && team && team !== installed) {
    return { ok: false, status: 403, reason: `request from another workspace (${team})` };
  }
  return { ok: true, req: buffered, command: body.form?.command !== undefined };
}

export function refuse(res: ServerResponse, outcome: { status: number }): void {
  res.writeHead(outcome.status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(outcome.status === 413 ? 'payload too large' : outcome.status === 400 ? 'bad request' : 'refused');
}
