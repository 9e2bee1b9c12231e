/**
 * Slack's side of the conversation for app processes the test does not hold in memory: signed
 * slash commands and button clicks over HTTP (bounded by a timeout), and tracked apps seeded
 * through the app's own stores on the test's Redis connection.
 */
import { Agent, request } from 'node:http';
import type { Redis } from 'ioredis';
import { actionBody, commandBody } from '../../dev/fakes/signing';
import type { FakeZoom } from '../../dev/fakes/zoomServer';
import { ACCOUNT_ID } from '../helpers/env';
import { visibleText } from '../helpers/boot';
import { DAY, PEOPLE } from '../integration/approvals.harness';
import { createAppStore } from '../../src/capabilities/evidence/stores/apps';
import type { Keys } from '../../src/platform/redis/keys';
import { createUsageStore } from '../../src/capabilities/evidence/stores/usage';
import { recordCleanRead } from '../helpers/pollFixture';
import { signedHeaders } from '../helpers/signed';

export interface Delivery {
  /** HTTP status, or 0 when nothing answered within the timeout. */
  status: number;
  /** Time from sending to the full answer (ms). */
  ms: number;
  body: string;
}

/** POSTs a form body to the app's Slack endpoint, signed as Slack signs it. */
export async function deliver(appUrl: string, body: string, timeoutMs = 10_000): Promise<Delivery> {
  const timestamp = Math.floor(Date.now() / 1000);
  const started = performance.now();
  try {
    const res = await fetch(`${appUrl}/slack/events`, {
      method: 'POST',
      headers: signedHeaders(body, 'application/x-www-form-urlencoded', timestamp),
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    return { status: res.status, ms: performance.now() - started, body: text };
  } catch {
    return { status: 0, ms: performance.now() - started, body: '' };
  }
}

/** A request ready to send: signed now, valid for Slack's 5-minute window. */
export interface SignedRequest {
  body: string;
  headers: Record<string, string>;
}

export function signRequest(body: string, timestamp = Math.floor(Date.now() / 1000)): SignedRequest {
  return {
    body,
    headers: { ...signedHeaders(body, 'application/x-www-form-urlencoded', timestamp), 'content-length': String(Buffer.byteLength(body)) },
  };
}

/**
 * Sends a pre-signed request over a keep-alive agent with node:http: a load generator's sender,
 * lighter than fetch, so the generator's own cost does not add to the times it measures. The
 * time runs from handing the request to the agent to the last byte of the answer.
 */
export function deliverSigned(agent: Agent, appUrl: string, req: SignedRequest, timeoutMs = 10_000): Promise<Delivery> {
  const url = new URL('/slack/events', appUrl);
  const started = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const finish = (status: number, body: string) => {
      if (settled) return;
      settled = true;
      resolve({ status, ms: performance.now() - started, body });
    };
    const r = request({ agent, host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: req.headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => finish(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')));
      res.on('error', () => finish(0, ''));
    });
    r.on('timeout', () => {
      r.destroy();
      finish(0, 'error: timeout');
    });
    // The body says why there was no HTTP status (a reset, a refused connection…).
    r.on('error', (err: NodeJS.ErrnoException) => finish(0, `error: ${err.code ?? err.message}`));
    r.end(req.body);
  });
}

/** A button click on a card, answered (ephemerally) at `responseUrl`. */
export function clickBody(actionId: string, requestId: string, userId: string, responseUrl: string): string {
  return actionBody({ action_id: actionId, value: requestId, user_id: userId, response_url: responseUrl });
}

/** Runs a slash command as `user`; resolves with the text of the immediate answer. */
export async function commandOn(appUrl: string, text: string, responseUrl: string, user: string = PEOPLE.alice): Promise<string> {
  const res = await deliver(appUrl, commandBody({ text, user_id: user, response_url: responseUrl }), 15_000);
  if (res.status !== 200) throw new Error(`command answered HTTP ${res.status}`);
  try {
    return visibleText(JSON.parse(res.body) as Record<string, unknown>);
  } catch {
    return res.body;
  }
}

/** Opens a request with a slash command; returns its id or throws with the app's answer. */
export async function openRequestOn(appUrl: string, text: string, responseUrl: string, user: string = PEOPLE.alice): Promise<string> {
  const shown = await commandOn(appUrl, text, responseUrl, user);
  const id = /Request `(R[0-9A-F]+)`/.exec(shown)?.[1];
  if (!id) throw new Error(`request was not opened: ${shown.slice(0, 300)}`);
  return id;
}

let seeded = 0;
/** A tracked, active app, present in fake Zoom. */
export async function seedTrackedApp(redis: Redis, keys: Keys, zoom: FakeZoom): Promise<{ appId: string; name: string }> {
  seeded += 1;
  const appId = `fault${seeded}${Math.random().toString(36).slice(2, 8)}`;
  const name = `Legacy JWT fault ${seeded}`;
  await createAppStore(redis, keys, ['default']).track({ appId, account: 'default', name, trackedBy: 'test' }, Date.now());
  zoom.addApp(ACCOUNT_ID, { app_id: appId, app_name: name });
  return { appId, name };
}

/** A tracked app disabled `disabledAgoMs` ago (past the 7-day soak by default), present in fake Zoom. */
export async function seedDisabledApp(redis: Redis, keys: Keys, zoom: FakeZoom, disabledAgoMs = 8 * DAY): Promise<{ appId: string; name: string }> {
  const { appId, name } = await seedTrackedApp(redis, keys, zoom);
  const apps = createAppStore(redis, keys, ['default']);
  const moved = await apps.transition(appId, 'active', 'disabled', { disabledAt: Date.now() - disabledAgoMs, disabledBy: PEOPLE.dave });
  if (!moved) throw new Error(`could not disable ${appId}`);
  // A removal needs a clean read of the app's call logs (SPEC §4.3).
  await recordCleanRead(createUsageStore({ redis, keys }), appId, Date.now());
  return { appId, name };
}

/** The value at quantile `q` (0..1) of already sorted numbers (nearest rank). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}
