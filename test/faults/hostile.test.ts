/**
 * Hostile input, generated: 10,000 slash-command texts, button payloads, ids and headers thrown
 * at the real receiver. Whatever arrives: no 5xx, no crash, no approval card, no request, no
 * change to tracked apps or the audit log.
 */
import fc from 'fast-check';
import { actionBody, commandBody, postSigned, sign } from '../../dev/fakes/signing';
import { TEST_SECRETS } from '../helpers/env';
import { bootApp, type Booted } from '../helpers/boot';
import { ACTION } from '../../src/platform/slack/ids';
import { SUBCOMMANDS } from '../../src/platform/slack/commands';

// HOSTILE_SCALE shrinks the runs while developing; CI runs the full 10,000.
const SCALE = Number(process.env.HOSTILE_SCALE ?? 1);
const RUNS = { commands: Math.round(4_000 * SCALE), clicks: Math.round(3_000 * SCALE), raw: Math.round(3_000 * SCALE) };
let app: Booted;

beforeAll(async () => {
  app = await bootApp('hostile', { POLL_EVERY: '0', LOG_LEVEL: 'warn' });
  const s = app.running.services;
  await s.apps.track({ appId: 'AppLegacy01', account: 'default', name: 'Legacy JWT', trackedBy: 'test' }, s.clock());
  await s.apps.track({ appId: 'AppQuiet002', account: 'default', name: 'Quiet Reporting', trackedBy: 'test' }, s.clock());
}, 30_000);
afterAll(async () => {
  await app.stop();
});

/**
 * What junk must never change: tracked apps, requests, and the audit log, where only refusals
 * may be added (a refused attempt is worth a line in the trail; nothing else is).
 */
async function snapshot(): Promise<string> {
  const s = app.running.services;
  const apps = await s.apps.list();
  const requests = await s.redis.keys(`${s.keys.k('request')}*`);
  const audit = (await s.audit.latest(10_000)).filter((e) => e.type !== 'request.refused' && e.type !== 'access.refused').map((e) => `${e.type} ${e.summary}`);
  return JSON.stringify({ apps, requests: requests.sort(), audit });
}

/** Runs `n` generated requests, 8 at a time; returns the HTTP statuses seen. */
async function blast<T>(arb: fc.Arbitrary<T>, n: number, send: (input: T) => Promise<number>): Promise<Map<number, number>> {
  const inputs = fc.sample(arb, { numRuns: n, seed: 20261128 });
  const statuses = new Map<number, number>();
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < inputs.length) {
        const input = inputs[next++]!;
        const status = await send(input);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status >= 500) throw new Error(`HTTP ${status} for ${JSON.stringify(input).slice(0, 300)}`);
      }
    }),
  );
  return statuses;
}

const url = () => `${app.url}/slack/events`;
const signed = (body: string) => postSigned(url(), body, { signingSecret: TEST_SECRETS.signingSecret });

const junkText = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.tuple(fc.constantFrom(...SUBCOMMANDS.filter((c) => c !== 'digest' && c !== 'poll'), 'DISABLE', 'remove ', '  status'), fc.string({ maxLength: 120 })).map(([a, b]) => `${a} ${b}`),
  fc.tuple(fc.constantFrom('disable', 'enable', 'remove', 'owner', 'migrated', 'untrack', 'app'), fc.constantFrom('<@U0BOB>', '<#C123|x>', '<!channel>', '*', '%', '\u0000', 'AppNotTracked', 'x'.repeat(600))).map(([a, b]) => `${a} ${b}`),
);

it(`answers ${RUNS.commands} generated command texts without a 5xx or a state change`, async () => {
  const before = await snapshot();
  const users = fc.constantFrom('U0ALICE', 'U0BOB', 'U0MALLORY', 'W0X', '', 'U0<script>');
  const statuses = await blast(fc.tuple(junkText, users), RUNS.commands, async ([text, user]) => (await signed(commandBody({ text, user_id: user }))).status);
  expect([...statuses.keys()].every((s) => s < 500)).toBe(true);
  expect(statuses.get(200)).toBeGreaterThan(RUNS.commands / 2);
  expect(await snapshot()).toBe(before);
}, 180_000);

it(`answers ${RUNS.clicks} generated button payloads without a 5xx, a card or a state change`, async () => {
  const before = await snapshot();
  const postsBefore = app.slack.callsTo('chat.postMessage').length;
  const arb = fc.record({
    action_id: fc.oneof(fc.constantFrom(...Object.values(ACTION)), fc.string({ maxLength: 40 })),
    value: fc.oneof(fc.string({ maxLength: 60 }), fc.constantFrom('R0000', 'AppLegacy01', 'r'.repeat(3000), '', '{"id":1}')),
    user_id: fc.constantFrom('U0ALICE', 'U0BOB', 'U0CAROL', 'U0MALLORY', ''),
    message_ts: fc.oneof(fc.constant('1700000001.000001'), fc.string({ maxLength: 20 })),
  });
  const statuses = await blast(arb, RUNS.clicks, async (fields) => (await signed(actionBody(fields))).status);
  expect([...statuses.keys()].every((s) => s < 500)).toBe(true);
  expect(app.slack.callsTo('chat.postMessage').length).toBe(postsBefore);
  expect(await snapshot()).toBe(before);
}, 180_000);

it(`refuses ${RUNS.raw} generated raw bodies and headers with 4xx`, async () => {
  const before = await snapshot();
  const arb = fc.record({
    body: fc.oneof(fc.string({ maxLength: 500 }), fc.string({ maxLength: 200 }).map((s) => `payload=${encodeURIComponent(s)}`), fc.json().map((j) => `payload=${encodeURIComponent(j)}`), fc.json()),
    contentType: fc.constantFrom('application/x-www-form-urlencoded', 'application/json', 'text/plain', 'application/x-www-form-urlencoded; charset=utf-8', ''),
    timestamp: fc.oneof(fc.constant('now'), fc.integer().map(String), fc.string({ maxLength: 15 })),
    signature: fc.constantFrom('valid', 'forged', 'missing', 'v1=abc'),
  });
  const statuses = await blast(arb, RUNS.raw, async (input) => {
    const ts = input.timestamp === 'now' ? String(Math.floor(Date.now() / 1000)) : input.timestamp;
    const headers: Record<string, string> = { 'x-slack-request-timestamp': ts };
    if (input.contentType) headers['content-type'] = input.contentType;
    if (input.signature === 'valid') headers['x-slack-signature'] = sign(TEST_SECRETS.signingSecret, Number(ts), input.body);
    if (input.signature === 'forged') headers['x-slack-signature'] = `v0=${'ab'.repeat(32)}`;
    if (input.signature === 'v1=abc') headers['x-slack-signature'] = 'v1=abc';
    const res = await fetch(url(), { method: 'POST', headers, body: input.body });
    await res.arrayBuffer();
    return res.status;
  });
  expect([...statuses.keys()].every((s) => s < 500)).toBe(true);
  expect(await snapshot()).toBe(before);
  expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
}, 180_000);
