/**
 * Socket Mode, through a fake WebSocket: the app opens its connection with
 * `apps.connections.open`, and slash commands and clicks arrive as envelopes. The same rules hold
 * as over HTTP: roles, the workspace check, answers only to Slack, exactly one execution.
 */
import { ACTION } from '../../src/platform/slack/ids';
import { actionBody, commandBody } from '../../dev/fakes/signing';
import { startFakeSocketMode, type FakeSocketMode } from '../../dev/fakes/socketMode';
import { startFakeSlack, type FakeSlack } from '../../dev/fakes/slackServer';
import type { FakeZoom } from '../../dev/fakes/zoomServer';
import { startTestZoom, visibleText, type Booted } from '../helpers/boot';
import { addPeople, bootOn, PEOPLE, seedApp, waitForStatus } from './approvals.harness';
import { until } from '../helpers/polls';
import { createRequestStore, type RequestStore } from '../../src/capabilities/approvals/stores/requests';
import { INPUT, REQUEST_ACTION } from '../../src/platform/slack/ids';
import { modalMetadata } from '../../src/capabilities/approvals/views/requestModal';
import { homeOpenedEvent, pressPayload, viewSubmission } from '../helpers/views';

let socket: FakeSocketMode;
let slack: FakeSlack;
let zoom: FakeZoom;
let b: Booted;
let store: RequestStore;

beforeAll(async () => {
  socket = await startFakeSocketMode();
  slack = await startFakeSlack();
  addPeople(slack);
  slack.setSocketModeUrl(socket.url);
  zoom = await startTestZoom();
  b = await bootOn('socket-mode', { zoom, slack }, { SLACK_APP_TOKEN: 'xapp-1-test-socket-token', ADMINS: PEOPLE.alice, ACTIONS_MODE: 'live' });
  await socket.connected();
  store = createRequestStore(b.running.services.redis, b.running.services.keys);
});
afterAll(async () => {
  await b.stop();
  await socket.close();
  await slack.close();
  await zoom.close();
});

/** A slash command envelope: Slack sends the form fields as a JSON payload. */
const commandPayload = (text: string, fields: Record<string, string> = {}) => ({
  ...Object.fromEntries(new URLSearchParams(commandBody({ text, response_url: `${slack.responseUrlBase}sm-${Math.random()}` }))),
  ...fields,
});
const clickPayload = (actionId: string, value: string, user: string, responseUrl?: string) =>
  JSON.parse(new URLSearchParams(actionBody({ action_id: actionId, value, user_id: user, ...(responseUrl ? { response_url: responseUrl } : {}) })).get('payload')!) as Record<string, unknown>;

it('answers a slash command in its ack', async () => {
  const ack = await socket.send('slash_commands', commandPayload('status', { user_id: PEOPLE.bob }));
  expect(visibleText(ack?.payload)).toMatch(/zoomjwt status/);
});

it('answers /zoomjwt app with its chart on the response_url, and with the text fallback where Slack refuses the chart', async () => {
  const app = await seedApp(b, { name: 'Chart <!here> *app*', zoom });
  const ask = async (answered: 'later' | 'in the ack' = 'later') => {
    const path = `sm-app-${Math.random()}`;
    const ack = await socket.send('slash_commands', { ...commandPayload(`app ${app.appId}`, { user_id: PEOPLE.bob }), response_url: `${slack.responseUrlBase}${path}` });
    const answer = answered === 'later' ? await slack.waitForResponse((r) => r.path === `/respond/${path}`, 10_000) : undefined;
    return { ack: ack?.payload, answer: answer?.body };
  };
  const types = (msg: Record<string, unknown> | undefined) => ((msg?.blocks ?? []) as Array<{ type: string }>).map((x) => x.type);

  const native = await ask();
  // The ack carries nothing (a refused ack is invisible); the chart and table come on the response_url.
  expect(types(native.ack)).toEqual([]);
  expect(types(native.answer)).toContain('data_visualization');
  // The hostile name is inert wherever mrkdwn is read (a plain_text header shows it as written).
  const mrkdwn = JSON.stringify(native.answer).match(/"type":"mrkdwn","text":"(?:[^"\\]|\\.)*"/g) ?? [];
  expect(mrkdwn.length).toBeGreaterThan(0);
  expect(mrkdwn.join('\n')).not.toContain('<!here>');
  expect(String(native.answer?.text)).not.toContain('<!here>');

  slack.refuseBlockTypes(['data_visualization', 'table', 'data_table']);
  const memory = b.running.services.keys.k('native-refused', b.running.services.slackIdentity.teamId);
  try {
    const refused = await ask();
    expect(types(refused.answer)).not.toContain('data_visualization');
    expect(visibleText(refused.answer)).toMatch(/`[▁▂▃▄▅▆▇█]{30}`/);
    // Remembered: the text version is now the ack itself.
    const next = await ask('in the ack');
    expect(visibleText(next.ack)).toMatch(/`[▁▂▃▄▅▆▇█]{30}`/);
  } finally {
    slack.refuseBlockTypes([]);
    await b.running.services.redis.del(memory);
  }
});

it('holds the roles: a guest reads nothing, a member may not track', async () => {
  const guest = await socket.send('slash_commands', commandPayload('status', { user_id: PEOPLE.guest }));
  expect(visibleText(guest?.payload)).toMatch(/Only full members/);
  const member = await socket.send('slash_commands', commandPayload('track someapp', { user_id: PEOPLE.mallory }));
  expect(visibleText(member?.payload)).toMatch(/Only zoomjwt admins/);
  expect(await b.running.services.apps.get('someapp')).toBeNull();
});

it('drops an envelope from another workspace without running it', async () => {
  const ack = await socket.send('slash_commands', commandPayload('track foreign-app', { user_id: PEOPLE.alice, team_id: 'T0OTHER' }), 1_000);
  expect(ack?.payload).toBeUndefined();
  expect(await b.running.services.apps.get('foreign-app')).toBeNull();
  expect(zoom.requests.some((r) => r.includes('foreign-app'))).toBe(false);
});

it('signs and executes a live removal exactly once, and never answers outside Slack', async () => {
  const app = await seedApp(b, { state: 'disabled', zoom });
  const opened = await socket.send('slash_commands', commandPayload(`remove ${app.appId} soaked and silent`, { user_id: PEOPLE.alice }));
  const id = /Request `(R[0-9A-F]+)`/.exec(visibleText(opened?.payload))?.[1];
  expect(id).toBeDefined();
  // A non-approver's click, with a response URL that is not Slack's: refused, and never called there.
  const warns = b.logs.filter((l) => l.includes('outside Slack')).length;
  await socket.send('interactive', clickPayload(ACTION.approve, id!, PEOPLE.mallory, 'https://evil.example/steal'));
  await until(async () => b.logs.filter((l) => l.includes('outside Slack')).length > warns, 'the refusal warning');
  expect((await store.get(id!))?.signatures).toEqual([]);
  await socket.send('interactive', clickPayload(ACTION.approve, id!, PEOPLE.bob, `${slack.responseUrlBase}sm-bob`));
  await socket.send('interactive', clickPayload(ACTION.approve, id!, PEOPLE.carol, `${slack.responseUrlBase}sm-carol`));
  await socket.send('interactive', clickPayload(ACTION.approve, id!, PEOPLE.dave, `${slack.responseUrlBase}sm-dave`));
  await waitForStatus(store, id!, 'executed');
  expect(zoom.removals).toEqual([app.appId]);
  const answer = await slack.waitForResponse((r) => r.path.endsWith('sm-carol'));
  expect(String(answer.body.text)).toMatch(/completed the approvals/);
});

it('publishes the Home tab on an app_home_opened envelope; a guest gets the short view', async () => {
  const app = await seedApp(b, { name: '<!here> Socket app', zoom });
  const ack = await socket.send('events_api', homeOpenedEvent(PEOPLE.bob));
  expect(ack).toBeDefined();
  await until(async () => slack.homeView(PEOPLE.bob), 'the Home view');
  const text = visibleText(slack.homeView(PEOPLE.bob));
  expect(text).toContain('&lt;!here&gt; Socket app');
  expect(text).toContain(app.appId);
  await socket.send('events_api', homeOpenedEvent(PEOPLE.guest));
  await until(async () => slack.homeView(PEOPLE.guest), 'the guest view');
  expect(visibleText(slack.homeView(PEOPLE.guest) as { blocks?: unknown })).toMatch(/for full members/);
  // From another workspace: dropped before any listener.
  await socket.send('events_api', homeOpenedEvent(PEOPLE.carol, 'home', 'T0OTHER'), 1_000);
  expect(slack.homeView(PEOPLE.carol)).toBeUndefined();
});

it('a Request button opens the form; its submission answers errors in the ack, then opens the request', async () => {
  const app = await seedApp(b, { state: 'disabled', zoom });
  const trigger = slack.issueTrigger();
  await socket.send('interactive', pressPayload({ user: PEOPLE.alice, actionId: REQUEST_ACTION.remove, value: app.appId, triggerId: trigger }));
  const opened = await slack.waitFor('views.open', (c) => c.args.trigger_id === trigger);
  const metadata = String((JSON.parse(String(opened.args.view)) as { private_metadata: string }).private_metadata);
  expect(metadata).toBe(modalMetadata('remove', app.appId));

  const missing = await socket.send('interactive', viewSubmission({ user: PEOPLE.alice, metadata, confirm: app.name }));
  expect(missing?.payload).toEqual({ response_action: 'errors', errors: { [INPUT.reason.block]: expect.stringMatching(/A reason is required/) } });
  const wrong = await socket.send('interactive', viewSubmission({ user: PEOPLE.alice, metadata, reason: 'soaked', confirm: 'nope' }));
  expect(wrong?.payload).toEqual({ response_action: 'errors', errors: { [INPUT.confirm.block]: expect.any(String) } });
  const guest = await socket.send('interactive', viewSubmission({ user: PEOPLE.guest, metadata, reason: 'soaked', confirm: app.name }));
  expect(guest?.payload?.response_action).toBe('errors');
  expect((await store.listOpen()).filter((r) => r.appId === app.appId)).toEqual([]);

  const ok = await socket.send('interactive', viewSubmission({ user: PEOPLE.alice, metadata, reason: 'soaked and silent', confirm: app.name }));
  expect(ok).toBeDefined();
  expect(ok?.payload?.response_action).toBeUndefined();
  const open = (await store.listOpen()).filter((r) => r.appId === app.appId);
  expect(open).toHaveLength(1);
  await slack.waitFor('chat.postMessage', (c) => c.args.channel === PEOPLE.alice && String(c.args.text).includes(open[0]!.id));
});
