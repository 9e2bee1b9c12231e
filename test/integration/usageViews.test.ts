/**
 * Zoom's usage fields in Slack, end to end: the fake Zoom lists them, the real worker polls,
 * `/zoomjwt status` ranks the untracked apps by recent use (the never used as the easy ones),
 * shows Zoom's totals beside zoomjwt's and flags a large disagreement, and `/zoomjwt app` says
 * what the latest calls act on and quotes the latest failures' trace ids: to full members only,
 * with every name and id from Zoom inert.
 */
import { bootApp, startTestZoom, visibleText, type Booted } from '../helpers/boot';
import { pollSettled, until } from '../helpers/polls';
import { homeOpenedEvent, postEvent } from '../helpers/views';
import { ACCOUNT_ID } from '../helpers/env';
import type { FakeZoom } from '../../dev/fakes/zoomServer';
import type { ZoomCallLog } from '../../src/platform/zoom/types';

const BOOKER = 'BookerApp01';
const LAGGING = 'LaggingApp2';
const WEBINAR = 'WebinarSync';
const NOISY = 'NoisyCand04';
const UNUSED = 'UnusedApp05';
const MIN = 60_000;
const HOUR = 3_600_000;


/** 40 calls that book meetings for one service user, 2 of them failed, plus a room lookup. */
function bookerLogs(now: number): ZoomCallLog[] {
  const out: ZoomCallLog[] = [];
  for (let i = 0; i < 40; i++) {
    out.push({
      method: 'POST',
      url_pattern: 'https://api.zoom.us/v2/users/booking-svc%40example.com/meetings',
      time: String(now - 5 * MIN - i * MIN),
      http_status: i === 1 || i === 7 ? 429 : 201,
      trace_id: `v=2.0;clid=us;rid=BOOK${i}`,
    });
  }
  out.push({ method: 'GET', url_pattern: 'https://api.zoom.us/v2/rooms/RoomAbc123XYZ', time: String(now - 50 * MIN), http_status: 200, trace_id: 'room-1' });
  return out;
}

describe('usage fields in Slack', () => {
  let zoom: FakeZoom;
  let app: Booted;
  const now = Date.now();

  beforeAll(async () => {
    zoom = await startTestZoom({ metrics: 'on' });
    zoom.addApp(ACCOUNT_ID, { app_id: BOOKER, app_name: 'Room Booker JWT' });
    zoom.addLogs(BOOKER, bookerLogs(now));
    // Zoom counts far more than the call logs show: flagged, not hidden.
    zoom.addApp(ACCOUNT_ID, { app_id: LAGGING, app_name: 'Quiet Reports', metrics: { total_calls: 5_000, failed_calls: 0 } });
    zoom.addApp(ACCOUNT_ID, { app_id: WEBINAR, app_name: 'Webinar Sync', metrics: { last_used: new Date(now - 2 * HOUR).toISOString(), total_calls: 1_204, failed_calls: 31, active_users: 3 } });
    zoom.addApp(ACCOUNT_ID, {
      app_id: NOISY,
      app_name: '<!channel> *Payroll* <https://evil.example|click>',
      metrics: { last_used: new Date(now - 30 * MIN).toISOString(), total_calls: 9, active_users: 1, works_with: ['<!here>'] },
    });
    zoom.addApp(ACCOUNT_ID, { app_id: UNUSED, app_name: 'Old Test App' });
    app = await bootApp('usageViews', { ZOOM_APP_IDS: `${BOOKER},${LAGGING}`, POLL_EVERY: '7d' }, { zoom, shutdownGraceMs: 5_000 });
    await pollSettled(app, 0);
  });
  afterAll(async () => {
    await zoom?.close();
    await app?.stop();
  });

  it('status lists the untracked apps by recent use, the never used as the easy ones, hostile names inert', async () => {
    const text = visibleText((await app.command('status')).json);
    const noisy = text.indexOf(NOISY);
    const webinar = text.indexOf(WEBINAR);
    const easy = text.indexOf('the easy ones');
    expect(noisy).toBeGreaterThan(-1);
    // Most recently used first, then the never used.
    expect(noisy).toBeLessThan(webinar);
    expect(webinar).toBeLessThan(easy);
    expect(easy).toBeLessThan(text.indexOf(UNUSED));
    expect(text).toContain(`*Webinar Sync* \`${WEBINAR}\` — last used 2 h ago, 1,204 calls in 30 d (31 failed), 3 active users — \`/zoomjwt track ${WEBINAR}\``);
    expect(text).toContain('&lt;!channel&gt;');
    expect(text).toContain('works with &lt;!here&gt;');
    expect(text).not.toMatch(/<!channel>|<!here>|<https:\/\/evil/);
  });

  it('the Home tab lists the untracked apps by recent use too', async () => {
    const before = app.slack.callsTo('views.publish').length;
    expect((await postEvent(app.url, homeOpenedEvent('U0ALICE'))).status).toBe(200);
    await until(async () => app.slack.callsTo('views.publish').length > before, 'the Home view', { timeoutMs: 15_000, everyMs: 50 });
    const text = visibleText(app.slack.homeView('U0ALICE'));
    expect(text).toMatch(/Not tracked yet, by recent use/);
    expect(text).toContain(`*Webinar Sync* \`${WEBINAR}\` — last used 2 h ago, 1,204 calls in 30 d (31 failed), 3 active users`);
    expect(text.indexOf(WEBINAR)).toBeLessThan(text.indexOf(UNUSED));
    expect(text).not.toMatch(/<!channel>|<!here>|<https:\/\/evil/);
  });

  it("status shows Zoom's totals beside zoomjwt's and flags a large disagreement", async () => {
    const text = visibleText((await app.command('status')).json);
    expect(text).toContain('Zoom: 41 calls in 30 d (2 failed), 1 active user · zoomjwt: 41');
    expect(text).toContain('Zoom counts 5,000 calls in 30 d, zoomjwt 0: calls may be missing from the call logs zoomjwt reads');
  });

  it('app names what the latest calls act on and quotes the latest failures’ trace ids', async () => {
    const text = visibleText((await app.command(`app ${BOOKER}`)).json);
    expect(text).toContain('Who is probably calling* (from the 41 latest calls)');
    expect(text).toContain('user `booking-svc@example.com` (40 of 41)');
    expect(text).toContain('room `RoomAbc123XYZ` (1 of 41)');
    expect(text).toContain('the integration that owns or books for it is the likely caller');
    expect(text).toMatch(/429 `POST \/users\/\{userId\}\/meetings` `v=2\.0;clid=us;rid=BOOK1`/);
    expect(text).toContain('v=2.0;clid=us;rid=BOOK7');
    expect(text).toContain("*Zoom's own figures*");
  });

  it('a poll with nothing new in Zoom’s figures only lists, and says so in /metrics', async () => {
    const before = zoom.requests.length;
    const since = Date.now();
    expect((await app.command('poll')).status).toBe(200);
    await pollSettled(app, since);
    expect(zoom.requests.slice(before).map((l) => l.split('?')[0])).toEqual(['GET /marketplace/apps']);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(/zoomjwt_call_log_reads_skipped_total\{[^}]*account="default"[^}]*\} 2\n/);
  });

  it.each([
    ['a guest', 'U0GUEST01'],
    ['someone Slack does not know', 'U0NOBODY'],
  ])('%s gets neither the ids nor the ranked candidates', async (_who, user) => {
    if (user === 'U0GUEST01') app.slack.addUser({ id: user, is_restricted: true });
    for (const cmd of [`app ${BOOKER}`, 'status']) {
      const text = visibleText((await app.command(cmd, { user_id: user })).json);
      expect(text).toMatch(/Only full members/);
      expect(text).not.toContain('booking-svc');
      expect(text).not.toContain(WEBINAR);
    }
  });
});
