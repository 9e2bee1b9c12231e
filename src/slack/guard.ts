/**
 * The gate in front of Bolt's receiver for `POST /slack/events`. Bolt verifies signatures but
 * accepts timestamps from the future and any workspace; this guard refuses, before any listener
 * runs: oversized bodies (413), timestamps more than 5 minutes away in either direction or a bad
 * signature (401), and requests from another workspace (403). Refusals are logged at info level:
 * a forged request is noise, not an error of ours.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import { HTTPModuleFunctions, verifySlackRequest } from '@slack/bolt';
import type { Logger } from '../log';

/** Slack's own replay window, applied in both directions. */
export const MAX_CLOCK_SKEW_S = 300;
/** Interactivity payloads carry the whole message (≤ 50 blocks); 1 MiB is far above any real one. */
export const BODY_LIMIT_BYTES = 1024 * 1024;

export type GuardOutcome =
  | { ok: true; req: IncomingMessage }
  | { ok: false; status: number; reason: string };

export interface GuardOptions {
  signingSecret: string;
  /** The installed workspace (from auth.test), when known. */
  teamId: () => string | undefined;
  clock: () => number;
  log: Logger;
  bodyLimit?: number;
}

/**
 * The minimal shape Bolt's dispatch relies on. Bolt trusts signed payloads; a signed but
 * malformed one (a replayed fixture, a buggy proxy) must get a 400, not crash a listener.
 */
/** Slack user ids: U… (workspace) or W… (Enterprise Grid). */
const SLACK_USER = /^[UW][A-Z0-9]{2,}$/;

function shapeProblem(contentType: string | undefined, raw: string): string | undefined {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  try {
    // Bolt form-decodes only this exact type and JSON-parses every other body.
    if (contentType !== 'application/x-www-form-urlencoded') return isObject(JSON.parse(raw)) ? undefined : 'JSON body is not an object';
    const form = parseQuery(raw);
    if (typeof form.payload === 'string') {
      const payload: unknown = JSON.parse(form.payload);
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
  } catch {
    return 'unparseable payload';
  }
  return undefined;
}

function teamOf(contentType: string | undefined, raw: string): string | undefined {
  try {
    if (contentType === 'application/json') {
      const body = JSON.parse(raw) as { team_id?: unknown };
      return typeof body.team_id === 'string' ? body.team_id : undefined;
    }
    const form = parseQuery(raw);
    if (typeof form.team_id === 'string') return form.team_id;
    if (typeof form.payload === 'string') {
      const payload = JSON.parse(form.payload) as { team?: { id?: unknown } | null; user?: { team_id?: unknown } };
      const id = payload.team?.id ?? payload.user?.team_id;
      return typeof id === 'string' ? id : undefined;
    }
  } catch {
    // Unparseable bodies are Bolt's to refuse (400); the team check has nothing to say.
  }
  return undefined;
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
  // Slack's unsigned SSL check: Bolt answers it and strips everything else from the body.
  if (contentType === 'application/x-www-form-urlencoded' && parseQuery(raw).ssl_check === '1') {
    return { ok: true, req: buffered };
  }
  const tsHeader = req.headers['x-slack-request-timestamp'];
  const signature = req.headers['x-slack-signature'];
  const ts = Number(tsHeader);
  if (typeof signature !== 'string' || typeof tsHeader !== 'string' || !/^\d{1,12}$/.test(tsHeader)) {
    return { ok: false, status: 401, reason: 'unsigned request' };
  }
  if (Math.abs(opts.clock() / 1000 - ts) > MAX_CLOCK_SKEW_S) {
    return { ok: false, status: 401, reason: 'timestamp outside the 5-minute window' };
  }
  try {
    verifySlackRequest({
      signingSecret: opts.signingSecret,
      body: raw,
      headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': ts },
      nowMilliseconds: opts.clock(),
    });
  } catch {
    return { ok: false, status: 401, reason: 'bad signature' };
  }
  const problem = shapeProblem(contentType, raw);
  if (problem) return { ok: false, status: 400, reason: problem };
  const installed = opts.teamId();
  const team = teamOf(contentType, raw);
  if (installed && team && team !== installed) {
    return { ok: false, status: 403, reason: `request from another workspace (${team})` };
  }
  return { ok: true, req: buffered };
}

export function refuse(res: ServerResponse, outcome: { status: number }): void {
  res.writeHead(outcome.status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(outcome.status === 413 ? 'payload too large' : outcome.status === 400 ? 'bad request' : 'refused');
}
