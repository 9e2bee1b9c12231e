/**
 * The foundation, end to end over HTTP: signed slash commands into the real receiver, the guard's
 * refusals, health routes, and the queue wiring.
 */
import { QueueEvents } from 'bullmq';
import { bootApp, visibleText, type Booted } from '../helpers/boot';
import { commandBody, postSigned, sign, actionBody } from '../../dev/fakes/signing';
import { TEST_SECRETS } from '../helpers/env';
import { SUBCOMMANDS } from '../../src/platform/slack/commands';
import { countKeys, openRedis } from '../helpers/redis';
import { postSignedAs } from '../helpers/signed';

let app: Booted;

beforeAll(async () => {
  // No scheduled polls: the key-count checks below must see only what requests change.
  app = await bootApp('foundation', { POLL_EVERY: '0' });
});
afterAll(async () => {
  await app.stop();
});

describe('help', () => {
  it.each([['help'], [''], ['   ']])('answers %p with usage listing every subcommand', async (text) => {
    const res = await app.command(text);
    expect(res.status).toBe(200);
    const shown = visibleText(res.json);
    for (const sub of SUBCOMMANDS) expect(shown).toContain(`/zoomjwt ${sub}`);
    expect(res.json?.response_type).toBe('ephemeral');
    expect(String(res.json?.text)).toMatch(/Usage/);
  });

  it('answers an unknown subcommand with usage and names it', async () => {
    const res = await app.command('frobnicate now');
    expect(res.status).toBe(200);
    expect(visibleText(res.json)).toContain("I don't know `frobnicate`");
    expect(visibleText(res.json)).toContain('/zoomjwt status');
  });

  it('refuses oversized text politely, changing nothing', async () => {
    const before = await countKeys(app.prefix);
    const res = await app.command(`disable x ${'y'.repeat(3000)}`);
    expect(res.status).toBe(200);
    expect(visibleText(res.json)).toMatch(/too long/);
    expect(await countKeys(app.prefix)).toBe(before);
  });
});

describe('request authenticity', () => {
  const url = () => `${app.url}/slack/events`;
  const body = commandBody({ text: 'help' });
  const now = () => Math.floor(Date.now() / 1000);

  it.each([
    ['forged signature', { signature: `v0=${'0'.repeat(64)}` }],
    ['signed with another secret', { signature: sign('not-the-secret', now(), body) }],
    ['stale timestamp (6 minutes old)', { timestamp: now() - 360 }],
    ['future timestamp (6 minutes ahead)', { timestamp: now() + 360 }],
    ['unsigned', { signature: null }],
  ])('refuses a %s with 401 and logs nothing at error level', async (_name, opts) => {
    const errorsBefore = app.logsAtLeast(50).length;
    const res = await postSigned(url(), body, { signingSecret: TEST_SECRETS.signingSecret, ...opts });
    expect(res.status).toBe(401);
    expect(res.body).not.toMatch(/Usage/);
    expect(app.logsAtLeast(50).length).toBe(errorsBefore);
  });

  it('accepts a timestamp within the window in both directions', async () => {
    for (const skew of [-240, 240]) {
      const res = await postSigned(url(), body, { signingSecret: TEST_SECRETS.signingSecret, timestamp: now() + skew });
      expect(res.status).toBe(200);
    }
  });

  it('refuses a correctly signed request from another workspace', async () => {
    const res = await postSigned(url(), commandBody({ text: 'help', team_id: 'T0OTHER' }), { signingSecret: TEST_SECRETS.signingSecret });
    expect(res.status).toBe(403);
    const click = await postSigned(url(), actionBody({ action_id: 'approval_approve', value: 'r1', team_id: 'T0OTHER' }), { signingSecret: TEST_SECRETS.signingSecret });
    expect(click.status).toBe(403);
  });

  it('refuses a body over the limit with 413', async () => {
    const huge = commandBody({ text: 'x'.repeat(2 * 1024 * 1024) });
    const res = await postSigned(url(), huge, { signingSecret: TEST_SECRETS.signingSecret });
    expect(res.status).toBe(413);
  });

  it('answers malformed bodies with 4xx, never 5xx', async () => {
    const bad = [
      ['payload=%7Bnot-json', 'application/x-www-form-urlencoded'],
      ['{"type":', 'application/json'],
      ['payload=' + encodeURIComponent(JSON.stringify({ type: 'block_actions', actions: 'nope' })), 'application/x-www-form-urlencoded'],
      ['text=hi', 'text/plain'],
      ['null', 'text/plain'],
      ['null', 'application/json'],
      ['[1,2]', 'application/x-www-form-urlencoded; charset=utf-8'],
    ] as const;
    const statuses: string[] = [];
    for (const [raw, type] of bad) {
      const res = await postSignedAs(url(), raw, type);
      statuses.push(`${res.status} ${raw.slice(0, 20)}`);
    }
    expect(statuses.filter((s) => s.startsWith('5'))).toEqual([]);
  });

  it('acknowledges buttons and payloads it has no listener for (Bolt would answer 404 after 3 s)', async () => {
    const res = await app.click({ action_id: 'somebody_elses_button', value: 'x' });
    expect(res.status).toBe(200);
    const shortcut = new URLSearchParams({ payload: JSON.stringify({ type: 'shortcut', callback_id: 'x', team: { id: 'T0TEST' }, user: { id: 'U0ALICE' }, trigger_id: '1' }) }).toString();
    expect((await postSigned(url(), shortcut, { signingSecret: TEST_SECRETS.signingSecret })).status).toBe(200);
    const other = await postSigned(url(), commandBody({ text: 'hi', command: '/other' }), { signingSecret: TEST_SECRETS.signingSecret });
    expect(other.status).toBe(200);
    expect(visibleText(other.json)).toMatch(/only answers \/zoomjwt/);
  });

  it('refuses GET on the Slack endpoint', async () => {
    expect((await fetch(url())).status).toBe(405);
  });
});

describe('health', () => {
  it('serves /healthz, /readyz and Prometheus /metrics with request counters', async () => {
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(/zoomjwt_http_requests_total\{[^}]*route="\/slack\/events"[^}]*status="200"/);
    expect(metrics).toMatch(/zoomjwt_slack_commands_total\{[^}]*subcommand="help"/);
    expect(metrics).toMatch(/zoomjwt_slack_ack_seconds_bucket/);
    expect((await fetch(`${app.url}/nope`)).status).toBe(404);
  });

  it('has no /audit route without AUDIT_TOKEN', async () => {
    expect((await fetch(`${app.url}/audit`)).status).toBe(404);
  });
});

describe('queue wiring', () => {
  it('runs a job through the worker under the configured prefix and counts it', async () => {
    const queue = app.running.services.queues.actions;
    const connection = openRedis({ maxRetriesPerRequest: null });
    const events = new QueueEvents('actions', { connection, prefix: `{${app.prefix}}` });
    await events.waitUntilReady();
    const job = await queue.add('ping', { hello: 'world' });
    const result = await job.waitUntilFinished(events, 10_000);
    expect(result).toEqual({ pong: { hello: 'world' } });
    expect(job.id).toBeDefined();
    await events.close();
    connection.disconnect();
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(/zoomjwt_jobs_total\{[^}]*queue="actions"[^}]*name="ping"[^}]*outcome="completed"[^}]*\} 1/);
  });
});
