/**
 * Attacks on the front door, over the real HTTP route with a live-mode app: unsigned bodies
 * smuggled in behind Slack's SSL check, bodies Bolt would parse differently from the guard,
 * response URLs outside Slack, and people acting beyond their role. Every case asserts that
 * nothing changed: no signature counted, no DELETE reached Zoom, no command answered.
 */
import { createServer, type Server } from 'node:http';
import { ACTION } from '../../src/platform/slack/ids';
import { createSlackApp } from '../../src/platform/slack/app';
import { createSlackTransport } from '../../src/platform/slack/transport';
import { createLogger } from '../../src/log';
import { createMetrics } from '../../src/metrics';
import { actionBody, commandBody, postSigned, sign } from '../../dev/fakes/signing';
import { TEST_SECRETS } from '../helpers/env';
import { startTestZoom, visibleText } from '../helpers/boot';
import { startFakeSlack, type FakeSlack } from '../../dev/fakes/slackServer';
import type { FakeZoom } from '../../dev/fakes/zoomServer';
import type { Booted } from '../helpers/boot';
import { bootOn, click, command, openRequest, PEOPLE, seedApp, startHarness, type Harness } from './approvals.harness';
import { sleep, until } from '../helpers/polls';
import { closeServer, listenLocal } from '../helpers/net';
import { signedHeaders } from '../helpers/signed';

let h: Harness;
let app: { appId: string; name: string };
let requestId: string;

const url = () => `${h.b.url}/slack/events`;
const now = () => Math.floor(Date.now() / 1000);

/** A POST with exactly the headers given: no signature or timestamp unless a case adds them. */
async function postRaw(body: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; contentType: string }> {
  const res = await fetch(url(), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
  return { status: res.status, body: await res.text(), contentType: res.headers.get('content-type') ?? '' };
}

/** The block_actions payload of an Approve click on the live remove request, as Bob. */
function approvePayload(user: string = PEOPLE.bob): string {
  const form = new URLSearchParams(actionBody({ action_id: ACTION.approve, value: requestId, user_id: user, response_url: `${h.slack.responseUrlBase}smuggled` }));
  return form.get('payload')!;
}

const deletes = () => h.zoom.requests.filter((r) => r.startsWith('DELETE')).length;

async function nothingChanged(): Promise<void> {
  // A listener that got in would act after its ack: give it the time it would need.
  await sleep(150);
  const req = await h.store.get(requestId);
  expect(req?.status).toBe('pending');
  expect(req?.signatures).toEqual([]);
  expect(deletes()).toBe(0);
  expect(h.slack.responses.filter((r) => r.path.endsWith('smuggled'))).toEqual([]);
}

beforeAll(async () => {
  h = await startHarness('security', { ACTIONS_MODE: 'live', REQUIRED_APPROVALS: '2', ADMINS: PEOPLE.alice });
  app = await seedApp(h.b, { state: 'disabled' });
  requestId = await openRequest(h.b, `remove ${app.appId} soaked and silent`);
});
afterAll(async () => {
  await h.stop();
});

describe('Slack\'s SSL check is answered by the guard and never forwarded', () => {
  const payloadCase = () => `ssl_check=1&payload=${encodeURIComponent(approvePayload())}`;
  const commandFields = () => new URLSearchParams({ ...Object.fromEntries(new URLSearchParams(commandBody({ text: `remove ${app.appId} now`, user_id: PEOPLE.mallory }))) }).toString();

  it.each([
    ['ssl_check with an Approve payload, unsigned (twice, as a quorum would need)', () => payloadCase(), 2],
    ['ssl_check with a payload carrying command fields', () => `ssl_check=1&payload=${encodeURIComponent(JSON.stringify({ ...Object.fromEntries(new URLSearchParams(commandBody({ text: 'status', user_id: PEOPLE.mallory }))), type: 'block_actions' }))}`, 1],
    ['ssl_check beside slash-command form fields', () => `ssl_check=1&${commandFields()}`, 1],
    ['ssl_check after the command fields', () => `${commandFields()}&ssl_check=1`, 1],
    ['ssl_check in upper case with a payload', () => `SSL_CHECK=1&payload=${encodeURIComponent(approvePayload())}`, 1],
    ['ssl_check in mixed case with command fields', () => `Ssl_Check=1&${commandFields()}`, 1],
    ['ssl_check=true with a payload', () => `ssl_check=true&payload=${encodeURIComponent(approvePayload())}`, 1],
    ['ssl_check given twice with a payload', () => `ssl_check=1&ssl_check=1&payload=${encodeURIComponent(approvePayload())}`, 1],
    ['ssl_check inside the payload JSON', () => `payload=${encodeURIComponent(JSON.stringify({ ...JSON.parse(approvePayload()), ssl_check: '1' }))}`, 1],
  ])('%s: an empty 200, and nothing happens', async (_name, body, times) => {
    for (let i = 0; i < times; i++) {
      const res = await postRaw(body());
      expect(res.status).toBe(200);
      expect(res.body).toBe('');
    }
    await nothingChanged();
  });

  it('answers ssl_check the same way when the body is signed with a wrong secret', async () => {
    const body = `ssl_check=1&payload=${encodeURIComponent(approvePayload())}`;
    for (let i = 0; i < 2; i++) {
      const res = await postSigned(url(), body, { signingSecret: 'not-the-signing-secret' });
      expect([res.status, res.body]).toEqual([200, '']);
    }
    await nothingChanged();
  });

  it('answers ssl_check sent as JSON without running anything', async () => {
    const res = await fetch(url(), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ssl_check: '1', ...JSON.parse(approvePayload()) }),
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    await nothingChanged();
  });

  it('still answers Slack\'s genuine SSL check with an empty 200', async () => {
    const res = await postRaw('ssl_check=1&token=deprecated-verification-token');
    expect([res.status, res.body]).toEqual([200, '']);
  });
});

describe('unsigned or forged requests never reach a listener', () => {
  it.each([
    ['an Approve click with no signature and no timestamp', () => `payload=${encodeURIComponent(approvePayload())}`, {}],
    ['a slash command with no signature', () => commandBody({ text: `remove ${app.appId} now`, user_id: PEOPLE.bob }), { 'x-slack-request-timestamp': String(now()) }],
    ['a click with a signature but no timestamp', () => `payload=${encodeURIComponent(approvePayload())}`, { 'x-slack-signature': 'v0=00' }],
  ] as Array<[string, () => string, Record<string, string>]>)('%s gets a 401', async (_name, body, headers) => {
    const res = await postRaw(body(), headers);
    expect(res.status).toBe(401);
    await nothingChanged();
  });

  it('refuses a replay of a genuine click once its timestamp is outside the window', async () => {
    const body = `payload=${encodeURIComponent(approvePayload())}`;
    const old = now() - 600;
    const res = await postRaw(body, { 'x-slack-request-timestamp': String(old), 'x-slack-signature': sign(TEST_SECRETS.signingSecret, old, body) });
    expect(res.status).toBe(401);
    await nothingChanged();
  });
});

describe('signed bodies that are not what Slack sends get a 400 at once', () => {
  const signed = (body: string) => postSigned(url(), body, { signingSecret: TEST_SECRETS.signingSecret });

  it.each([
    ['a form with neither a command nor a payload', () => 'token=x&team_id=T0TEST&user_id=U0BOB&text=status'],
    ['payload and command fields together', () => `${commandBody({ text: 'status' })}&payload=${encodeURIComponent(approvePayload())}`],
    ['the command field twice', () => `${commandBody({ text: 'status' })}&command=%2Fzoomjwt`],
    ['the text field twice', () => `${commandBody({ text: 'status' })}&text=audit`],
    ['the user field twice', () => `${commandBody({ text: 'status', user_id: PEOPLE.mallory })}&user_id=${PEOPLE.alice}`],
    ['the payload field twice', () => `payload=${encodeURIComponent(approvePayload(PEOPLE.mallory))}&payload=${encodeURIComponent(approvePayload())}`],
    ['a payload that also carries command fields', () => `payload=${encodeURIComponent(JSON.stringify({ ...JSON.parse(approvePayload()), command: '/zoomjwt', text: 'status' }))}`],
    ['a payload with no user', () => `payload=${encodeURIComponent(JSON.stringify({ ...JSON.parse(approvePayload()), user: undefined }))}`],
    ['a payload that is not JSON', () => 'payload=%7Bnot-json'],
  ])('%s', async (_name, body) => {
    const res = await signed(body());
    expect(res.status).toBe(400);
    // At once: well under Bolt's 3-second unhandled-request timeout, which answered these before.
    expect(res.ms).toBeLessThan(2_500);
    await nothingChanged();
  });

  /** A signed JSON body, as the Events API sends them. */
  const postSignedJson = (value: unknown) => {
    const body = JSON.stringify(value);
    return fetch(url(), { method: 'POST', headers: signedHeaders(body, 'application/json'), body });
  };

  it('a JSON body that is not an Events API delivery', async () => {
    const res = await postSignedJson({ command: '/zoomjwt', text: 'status', user_id: PEOPLE.bob });
    expect(res.status).toBe(400);
  });

  it('an Events API url_verification, signed, is answered with its challenge', async () => {
    const res = await postSignedJson({ type: 'url_verification', token: 'x', challenge: 'c-123' });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('c-123');
  });
});

describe('Bolt checks the signature again behind the guard', () => {
  it('refuses an unsigned request handed to its receiver directly', async () => {
    const { log } = createLogger({ level: 'silent', secrets: [] });
    const transport = createSlackTransport({ policy: { apiUrl: h.slack.apiUrl, responseOrigins: [], onRefused: () => undefined } });
    const handle = createSlackApp({
      config: h.b.config, log, metrics: createMetrics({ defaultMetrics: false }), botUserId: 'U0BOT', botId: 'B0BOT', transport,
    });
    const server: Server = createServer((req, res) => void handle.requestListener!(req, res));
    const base = await listenLocal(server);
    try {
      const res = await fetch(`${base}/slack/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(now()), 'x-slack-signature': 'v0=forged' },
        body: commandBody({ text: 'status' }),
      });
      expect(res.status).toBe(401);
    } finally {
      await closeServer(server);
      transport.close();
    }
  });
});

describe('answers go only to Slack', () => {
  let sink: Server;
  let sinkUrl: string;
  const hits: string[] = [];
  beforeAll(async () => {
    sink = createServer((req, res) => {
      hits.push(req.url ?? '');
      res.writeHead(200).end('ok');
    });
    sinkUrl = await listenLocal(sink);
  });
  afterAll(async () => {
    await closeServer(sink);
  });

  it('never calls a response_url outside Slack, and logs the attempt once at warn level', async () => {
    const target = `${sinkUrl}/steal-${Date.now()}`;
    const warnsBefore = h.b.logs.filter((l) => l.includes('outside Slack')).length;
    // track answers at once and follows up through the response URL; a click answers there only.
    const res = await postSigned(url(), commandBody({ text: 'track some-app-id', user_id: PEOPLE.alice, response_url: target }), { signingSecret: TEST_SECRETS.signingSecret });
    expect(res.status).toBe(200);
    await postSigned(url(), actionBody({ action_id: ACTION.approve, value: requestId, user_id: PEOPLE.mallory, response_url: `${target}-click` }), { signingSecret: TEST_SECRETS.signingSecret });
    await until(async () => h.b.logs.filter((l) => l.includes('outside Slack')).length >= warnsBefore + 2, 'the refusal warnings');
    // Give any stray follow-up the time it would need to arrive.
    await sleep(300);
    expect(hits).toEqual([]);
    const warns = h.b.logs.filter((l) => l.includes('outside Slack')).slice(warnsBefore).map((l) => JSON.parse(l) as { level: number; host: string });
    expect(warns).toHaveLength(2);
    expect(warns.every((w) => w.level === 40 && w.host === new URL(sinkUrl).host)).toBe(true);
    // Once per request: the answers that were not delivered add no warning of their own.
    expect(h.b.logs.filter((l) => l.includes('not a Slack response URL'))).toEqual([]);
  });
});

describe('roles', () => {
  const redis = () => h.b.running.services.redis;
  const auditTypes = async () => (await h.b.running.services.audit.latest(200)).map((e) => `${e.type}:${e.actor ?? ''}`);

  it.each([
    ['a guest', PEOPLE.guest],
    ['a deactivated account', PEOPLE.gone],
    ['a bot', PEOPLE.robot],
    ['someone from another workspace', PEOPLE.foreign],
    ['someone Slack does not know', 'U0NOBODY'],
  ])('%s may not read status, open a request or change what is watched', async (_name, user) => {
    for (const text of ['status', 'app x', 'requests', 'audit', `disable ${app.appId} because`, `track zz-${user}`, `untrack ${app.appId}`, `owner ${app.appId} <@${user}>`, `migrated ${app.appId} done`]) {
      const answer = await command(h.b, text, user);
      expect(answer.text).toMatch(/Only full members|Only zoomjwt admins|could not check your Slack account/);
      expect(answer.text).toMatch(/Nothing was (changed|done)/);
    }
    expect((await h.b.running.services.apps.get(app.appId))?.state).toBe('disabled');
  });

  it('anyone gets help', async () => {
    expect((await command(h.b, 'help', PEOPLE.guest)).text).toContain('/zoomjwt status');
  });

  it('a full member who is not an admin may read and open requests, but not change what is watched', async () => {
    expect((await command(h.b, 'status', PEOPLE.mallory)).text).not.toMatch(/Only/);
    for (const text of [`track zz-mallory`, `untrack ${app.appId}`, `owner ${app.appId} <@${PEOPLE.mallory}>`, 'poll', 'digest']) {
      const answer = await command(h.b, text, PEOPLE.mallory);
      expect(answer.text).toMatch(/Only zoomjwt admins/);
    }
    const target = await h.b.running.services.apps.get(app.appId);
    expect(target?.owner).toBeUndefined();
    expect(await h.b.running.services.apps.get('zz-mallory')).toBeNull();
    const types = await auditTypes();
    expect(types.filter((t) => t === `access.refused:${PEOPLE.mallory}`).length).toBeGreaterThanOrEqual(5);
  });

  it('counts every refusal in /metrics', async () => {
    const text = await (await fetch(`${h.b.url}/metrics`)).text();
    expect(text).toMatch(/zoomjwt_access_refusals_total\{[^}]*action="track"[^}]*code="not_admin"[^}]*\} [1-9]/);
    expect(text).toMatch(/zoomjwt_access_refusals_total\{[^}]*action="status"[^}]*code="not_member"[^}]*\} [1-9]/);
  });

  it('migrated: the owner or an admin, nobody else', async () => {
    const other = await seedApp(h.b, { state: 'active' });
    expect((await command(h.b, `owner ${other.appId} <@${PEOPLE.carol}>`, PEOPLE.alice)).text).toMatch(/now owns/);
    expect((await command(h.b, `migrated ${other.appId} moved to S2S`, PEOPLE.mallory)).text).toMatch(/Only its owner .*or a zoomjwt admin/);
    expect((await h.b.running.services.apps.get(other.appId))?.migrated).toBeFalsy();
    expect((await command(h.b, `migrated ${other.appId} moved to S2S`, PEOPLE.carol)).text).toMatch(/Recorded/);
    expect((await h.b.running.services.apps.get(other.appId))?.migrated).toBe(true);
  });

  it('untrack is refused while the app has an open request', async () => {
    const answer = await command(h.b, `untrack ${app.appId}`, PEOPLE.alice);
    expect(answer.text).toMatch(/Cancel the request first/);
    expect(answer.text).toContain(requestId);
    expect(await h.b.running.services.apps.get(app.appId)).not.toBeNull();
  });

  it('when Slack cannot say who someone is, the answer is no', async () => {
    h.slack.fail('users.info', { error: 'internal_error' }, 1);
    const answer = await command(h.b, 'status', 'U0STRANGER');
    expect(answer.text).toMatch(/could not check your Slack account/);
  });

  it('a click on Request enable from an alert needs a full member', async () => {
    expect(await click(h.b, ACTION.alertRequestEnable, app.appId, PEOPLE.guest)).toMatch(/Only full members/);
    const open = await h.store.listOpen();
    expect(open.filter((r) => r.appId === app.appId && r.action === 'enable')).toEqual([]);
  });

  it('refusals changed no key of the install beyond the audit log', async () => {
    const keys = await redis().keys(`{${h.b.prefix}}:app:zz-*`);
    expect(keys).toEqual([]);
  });
});

describe('Enterprise Grid', () => {
  it('on a workspace that is not on Grid, an account of some org (a shared channel) is not a member', async () => {
    h.slack.addUser({ id: 'W0OUTSIDER', team_id: h.slack.teamId, enterprise_user: { enterprise_id: 'E0OTHER', teams: ['T0ELSE'] } });
    expect((await command(h.b, 'status', 'W0OUTSIDER')).text).toMatch(/Only full members.*another Enterprise Grid org/);
  });

  describe('installed org-wide', () => {
    let slack: FakeSlack;
    let zoom: FakeZoom;
    let org: Booted;
    beforeAll(async () => {
      zoom = await startTestZoom();
      slack = await startFakeSlack({ enterpriseId: 'E0ORG' });
      slack.addUser({ id: 'W0SALES', team_id: 'T0SALES', enterprise_user: { enterprise_id: 'E0ORG', teams: ['T0SALES'] } });
      // users.info names the org as team_id for some Grid accounts (bolt-js#1875).
      slack.addUser({ id: 'W0HOME', team_id: 'E0ORG', enterprise_user: { enterprise_id: 'E0ORG', teams: [slack.teamId] } });
      slack.addUser({ id: 'W0RIVAL', team_id: 'T0RIVAL', enterprise_user: { enterprise_id: 'E0RIVAL', teams: ['T0RIVAL'] } });
      org = await bootOn('security-org', { zoom, slack });
    });
    afterAll(async () => {
      await org.stop();
      await slack.close();
      await zoom.close();
    });
    const gridCommand = (user: string, team: string, enterprise: string) =>
      postSigned(`${org.url}/slack/events`, `${commandBody({ text: 'status', user_id: user, team_id: team })}&enterprise_id=${enterprise}`, {
        signingSecret: TEST_SECRETS.signingSecret,
      });

    it('a member of another workspace of the same org is let in and counts', async () => {
      const res = await gridCommand('W0SALES', 'T0SALES', 'E0ORG');
      expect(res.status).toBe(200);
      expect(visibleText(res.json)).not.toMatch(/Only|another/);
    });

    it('a member of the installed workspace whose users.info team_id is the org counts', async () => {
      const res = await gridCommand('W0HOME', slack.teamId, 'E0ORG');
      expect(visibleText(res.json)).not.toMatch(/Only|another/);
    });

    it('a request naming another org is refused at the door', async () => {
      expect((await gridCommand('W0RIVAL', 'T0RIVAL', 'E0RIVAL')).status).toBe(403);
    });

    it('someone from another org is refused even when the request claims our org', async () => {
      const res = await gridCommand('W0RIVAL', 'T0RIVAL', 'E0ORG');
      expect(visibleText(res.json)).toMatch(/another Enterprise Grid org/);
    });
  });
});

describe('weakened settings are loud', () => {
  let weak: Harness;
  beforeAll(async () => {
    weak = await startHarness('security-weak', { REQUIRED_APPROVALS: '1', SOAK_PERIOD: '1h', ADMINS: PEOPLE.alice });
  });
  afterAll(async () => {
    await weak.stop();
  });

  it('start-up warns, naming each setting', () => {
    const warns = weak.b.logs.map((l) => JSON.parse(l) as { level: number; setting?: string; msg: string }).filter((l) => l.level === 40 && l.setting);
    expect(warns.map((w) => w.setting).sort()).toEqual(['REQUIRED_APPROVALS', 'SOAK_PERIOD']);
    expect(warns.find((w) => w.setting === 'REQUIRED_APPROVALS')?.msg).toMatch(/Two-person rule is off: REQUIRED_APPROVALS=1/);
    expect(warns.find((w) => w.setting === 'SOAK_PERIOD')?.msg).toMatch(/SOAK_PERIOD=1h/);
  });

  it('status and the digest open with the banner', async () => {
    const status = await weak.b.command('status', { user_id: PEOPLE.alice });
    const blocks = status.json?.blocks as Array<{ type: string; text?: { text: string } }>;
    expect(blocks[1]?.text?.text).toMatch(/Two-person rule is off: REQUIRED_APPROVALS=1[\s\S]*SOAK_PERIOD=1h/);
    expect(String(status.json?.text)).toMatch(/^Two-person rule is off/);
    await weak.b.command('digest', { user_id: PEOPLE.alice });
    const digest = await weak.slack.waitFor('chat.postMessage', (c) => c.args.channel === 'C0DIGEST', 10_000);
    const digestBlocks = digest.args.blocks as Array<{ type: string; text?: { text: string } }>;
    expect(digestBlocks[1]?.text?.text).toMatch(/Two-person rule is off: REQUIRED_APPROVALS=1/);
  });

  it('a safe configuration shows no banner', async () => {
    const status = await h.b.command('status', { user_id: PEOPLE.alice });
    expect(JSON.stringify(status.json)).not.toMatch(/Two-person rule|Soak period is under a day/);
    expect(h.b.logs.some((l) => l.includes('"setting"'))).toBe(false);
  });
});
