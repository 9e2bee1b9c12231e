/**
 * Evidence alerts end to end: real polls of the fake Zoom feed the event bus, the alerts post in
 * the digest channel once per event (not again on the next poll, not twice when raced), and the
 * Request enable button of an alert opens an enable request.
 */
import { bootApp, startTestZoom, type Booted } from '../helpers/boot';
import { ACCOUNT_ID } from '../helpers/env';
import { until } from '../helpers/polls';
import { startFakeSlack, type FakeSlack, type SlackCall } from '../../dev/fakes/slackServer';
import type { FakeZoom } from '../../dev/fakes/zoomServer';
import { pollAccount } from '../../src/capabilities/evidence/jobs/pollAccount';
import { createRequestStore } from '../../src/capabilities/approvals/stores/requests';
import type { Services } from '../../src/services';

const HOUR = 3_600_000;
const CHANNEL = 'C0DIGEST';

let zoom: FakeZoom;
let slack: FakeSlack;
let app: Booted;
let s: Services;

const alertPosts = (pattern: RegExp): SlackCall[] =>
  slack.callsTo('chat.postMessage').filter((c) => c.args.channel === CHANNEL && pattern.test(String(c.args.text)));

/** A poll as the poll job runs it, then the completion event the alerts listen to. */
async function pollAndCheck(): Promise<void> {
  await pollAccount({
    account: 'default', zoom: s.zoom.get('default')!, apps: s.apps, usage: s.usage, health: s.health, clock: s.clock, log: s.log,
    onEvent: (e) => s.events.emit(e),
  });
  await s.events.emit({ type: 'poll_completed', account: 'default' });
}

beforeAll(async () => {
  zoom = await startTestZoom();
  for (const [id, name] of [['app-dis', 'Legacy Sync JWT'], ['app-gone', 'Old Script JWT'], ['app-fam', 'Reports JWT']] as const) {
    zoom.addApp(ACCOUNT_ID, { app_id: id, app_name: name });
  }
  slack = await startFakeSlack();
  for (const id of ['U0ALICE', 'U0BOB', 'U0CAROL', 'U0DAVE']) slack.addUser({ id });
  app = await bootApp(
    'alerts',
    { ZOOM_APP_IDS: 'app-dis,app-gone,app-fam', POLL_EVERY: '24h', LOG_LEVEL: 'warn' },
    { slack, zoom },
  );
  s = app.running.services;
  const now = s.clock();
  zoom.generateLogs('app-fam', { count: 10, fromMs: now - 5 * HOUR, toMs: now - 4 * HOUR, endpoints: [{ method: 'GET', url: 'https://api.zoom.us/v2/report/users' }] });
  // The first poll is the baseline: no alert for what an app has always called.
  await pollAndCheck();
  // Marked disabled (operator Done) two hours ago.
  expect(await s.apps.transition('app-dis', 'active', 'disabled', { disabledAt: now - 2 * HOUR, disabledBy: 'U0BOB' })).toBe(true);
});

afterAll(async () => {
  await app?.stop();
  await slack?.close();
  await zoom?.close();
});

describe('alerts', () => {
  it('fires once when calls still succeed after disable, and once for failed calls with a Request enable button', async () => {
    const now = s.clock();
    zoom.generateLogs('app-dis', { count: 6, fromMs: now - HOUR, toMs: now - 30 * 60_000, endpoints: [{ method: 'GET', url: 'https://api.zoom.us/v2/users/jane@example.com/meetings' }], statusMix: { 200: 1 }, seed: 2 });
    zoom.generateLogs('app-dis', { count: 9, fromMs: now - HOUR, toMs: now - 20 * 60_000, endpoints: [{ method: 'POST', url: 'https://api.zoom.us/v2/users/jane@example.com/meetings' }], statusMix: { 401: 1 }, seed: 3 });
    await pollAndCheck();

    const stillOn = alertPosts(/Legacy Sync JWT.*may not really be disabled/);
    expect(stillOn).toHaveLength(1);
    expect(String(stillOn[0]!.args.text)).toMatch(/by <@U0BOB>, but 6 calls succeeded since/);
    const depends = alertPosts(/Something still depends on \*Legacy Sync JWT\*/);
    expect(depends).toHaveLength(1);
    expect(String(depends[0]!.args.text)).toMatch(/9 failed calls to `POST \/users\/\{userId\}\/meetings` \(9\)/);
    const blocks = JSON.stringify(depends[0]!.args.blocks);
    expect(blocks).toContain('"action_id":"alert_request_enable"');
    expect(blocks).toContain('"value":"app-dis"');

    // More of the same on the next polls, and a racing check: no repeat.
    zoom.generateLogs('app-dis', { count: 3, fromMs: now - 10 * 60_000, toMs: now - 5 * 60_000, statusMix: { 401: 1 }, seed: 4 });
    await pollAndCheck();
    await Promise.all([s.events.emit({ type: 'poll_completed', account: 'default' }), s.events.emit({ type: 'poll_completed', account: 'default' })]);
    expect(alertPosts(/may not really be disabled/)).toHaveLength(1);
    expect(alertPosts(/Something still depends on/)).toHaveLength(1);
    const audit = (await s.audit.latest(50)).filter((e) => e.type === 'alert' && e.appId === 'app-dis' && String(e.details?.kind).endsWith('after_disable'));
    expect(audit.map((e) => e.details?.kind).sort()).toEqual(['failed_after_disable', 'succeeded_after_disable']);
  });

  it('fires once when a tracked app disappears from Zoom', async () => {
    zoom.removeApp('app-gone');
    await pollAndCheck();
    await pollAndCheck();
    await s.events.emit({ type: 'app_gone', account: 'default', appId: 'app-gone', name: 'Old Script JWT' });
    expect(alertPosts(/Old Script JWT.*no longer exists in Zoom/)).toHaveLength(1);
  });

  it('fires once per new endpoint family', async () => {
    const now = s.clock();
    zoom.generateLogs('app-fam', { count: 4, fromMs: now - 30 * 60_000, toMs: now - 20 * 60_000, endpoints: [{ method: 'GET', url: 'https://api.zoom.us/v2/rooms/abc123/devices' }], seed: 5 });
    await pollAndCheck();
    zoom.generateLogs('app-fam', { count: 4, fromMs: now - 15 * 60_000, toMs: now - 10 * 60_000, endpoints: [{ method: 'GET', url: 'https://api.zoom.us/v2/rooms/def456/devices' }], seed: 6 });
    await pollAndCheck();
    const posts = alertPosts(/Reports JWT\* started calling a new endpoint family/);
    expect(posts).toHaveLength(1);
    expect(String(posts[0]!.args.text)).toMatch(/rooms/);
    expect(alertPosts(/Reports JWT\* started calling/)).toHaveLength(1);
  });

  it('fires once when polling has failed for an hour, and not before', async () => {
    const now = s.clock();
    await s.health.recordResult('default', now - 30 * 60_000, { requests: 1, ingested: 0, error: { sentence: 'Zoom refused the credentials', kind: 'auth' } });
    await s.events.emit({ type: 'poll_completed', account: 'default' });
    expect(alertPosts(/Polling Zoom account/)).toHaveLength(0);

    await s.redis.hset(s.keys.k('health', 'default'), 'failingSince', String(now - 61 * 60_000));
    await s.health.recordResult('default', now, { requests: 1, ingested: 0, error: { sentence: 'Zoom refused the credentials', kind: 'auth' } });
    await s.events.emit({ type: 'poll_completed', account: 'default' });
    await s.events.emit({ type: 'poll_completed', account: 'default' });
    const posts = alertPosts(/Polling Zoom account \*default\* has failed for 1 h/);
    expect(posts).toHaveLength(1);
    expect(String(posts[0]!.args.text)).toContain('Zoom refused the credentials');
  });

  it('opens an enable request when someone presses Request enable', async () => {
    const res = await app.click({ action_id: 'alert_request_enable', value: 'app-dis', user_id: 'U0ALICE', channel_id: CHANNEL });
    expect(res.status).toBe(200);
    const store = createRequestStore(s.redis, s.keys);
    const open = await until(
      async () => {
        const listed = await store.listOpen();
        return listed.some((r) => r.appId === 'app-dis') ? listed : undefined;
      },
      'the enable request to open',
      { timeoutMs: 5_000, everyMs: 50 },
    );
    const req = open.find((r) => r.appId === 'app-dis');
    expect(req).toMatchObject({ action: 'enable', requester: 'U0ALICE', status: 'pending', required: 1 });
    await slack.waitForResponse((r) => r.path.includes('act'));
  });
});
