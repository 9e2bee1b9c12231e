/**
 * The evidence feature end to end: signed slash commands into the real app, the poll job in the
 * real worker against the fake Zoom server, answers read back as Slack would show them.
 */
import { bootApp, startTestZoom, visibleText, type Booted } from '../helpers/boot';
import { pollSettled, until } from '../helpers/polls';
import { ACCOUNT_ID, TEST_SECRETS } from '../helpers/env';
import { ALL_SCOPES, type FakeZoom } from '../../dev/fakes/zoomServer';
import { isPollRunning } from '../../src/capabilities/evidence/stores/pollLock';
import type { ZoomCallLog } from '../../src/platform/zoom/types';
import { createAppStore } from '../../src/capabilities/evidence/stores/apps';
import { createKeys } from '../../src/platform/redis/keys';
import { openRedis } from '../helpers/redis';

const SCIM = 'AzScimApp01';
const QUIET = 'QuietApp002';
const CANDIDATE = 'CandApp0003';
const MIN = 60_000;
const DAY = 86_400_000;

/** With the fake Zoom given to bootApp: the two tracked apps. */
function evidenceEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ZOOM_APP_IDS: `${SCIM},${QUIET}`,
    // Long enough that only the poll BullMQ runs at start and the ones the tests ask for happen.
    POLL_EVERY: '7d',
    ...extra,
  };
}


/** Sends `/zoomjwt poll` and waits for that poll to finish. */
async function pollNow(app: Booted): Promise<string> {
  const since = Date.now();
  const res = await app.command('poll');
  expect(res.status).toBe(200);
  await pollSettled(app, since);
  return visibleText(res.json);
}

function scimLogs(now: number): ZoomCallLog[] {
  const out: ZoomCallLog[] = [];
  const add = (method: string, url: string, time: number, status = 200) =>
    out.push({ method, url_pattern: url, time: String(time), http_status: status, trace_id: `t-${out.length}` });
  // 30 calls in the last 24 h, the newest 3.5 minutes ago; 5 more three days ago.
  for (let i = 0; i < 20; i++) add('PATCH', `https://api.zoom.us/v2/scim2/Users/KdYKjnimT4KPd8FFgQt9F${String.fromCharCode(65 + i)}`, now - 3.5 * MIN - i * 30_000, i < 2 ? 500 : 200);
  for (let i = 0; i < 10; i++) add('GET', 'https://api.zoom.us/v2/scim2/Users?filter=userName%20eq%20%22ann%40example.com%22', now - 60 * MIN - i * MIN);
  for (let i = 0; i < 5; i++) add('POST', 'https://api.zoom.us/v2/users/ann@example.com/meetings', now - 3 * DAY - i * MIN, 201);
  return out;
}

describe('evidence in Slack', () => {
  let zoom: FakeZoom;
  let app: Booted;
  const services = () => app.running.services;

  beforeAll(async () => {
    zoom = await startTestZoom();
    zoom.addApp(ACCOUNT_ID, { app_id: SCIM, app_name: 'Azure SCIM JWT', app_type: 'JWT' });
    zoom.addApp(ACCOUNT_ID, { app_id: QUIET, app_name: 'Legacy Reports JWT', app_type: 'JWT' });
    zoom.addApp(ACCOUNT_ID, { app_id: CANDIDATE, app_name: 'Forgotten Sync', app_type: 'JWT' });
    zoom.addLogs(SCIM, scimLogs(Date.now()));
    app = await bootApp('evidence', evidenceEnv(), { zoom, shutdownGraceMs: 5_000 });
    // The scheduler's first run happens at start.
    await pollSettled(app, 0);
  });
  afterAll(async () => {
    // Zoom first: a request it still holds open fails fast, so the worker can stop cleanly.
    await zoom?.close();
    await app?.stop();
  });

  it('schedules one poll per account, which reads all the entries once at start', async () => {
    const schedulers = await services().queues.poll.getJobSchedulers();
    expect(schedulers.map((s) => [s.key, s.every])).toEqual([['poll:default', 7 * DAY]]);
    const h = await services().health.get('default');
    expect(h.lastError).toBeUndefined();
    expect(h.ingestedTotal).toBe(35);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(/zoomjwt_call_log_entries_ingested_total\{[^}]*account="default"[^}]*\} 35\n/);
  });

  it('polls again on /zoomjwt poll: answered at once, nothing counted twice', async () => {
    const ack = await pollNow(app);
    expect(ack).toContain('Polling 1 account now…');
    const h = await services().health.get('default');
    expect(h.lastSuccess).toBeGreaterThanOrEqual(h.lastStart ?? Infinity);
    expect(h.lastError).toBeUndefined();
    expect(h.ingestedTotal).toBe(35);
    expect(h.ingested).toBe(0);
  });

  it('collapses concurrent /zoomjwt poll requests into one queued job', async () => {
    const queue = services().queues.poll;
    await queue.pause();
    try {
      const answers = await Promise.all([app.command('poll'), app.command('poll'), app.command('poll')]);
      const texts = answers.map((a) => visibleText(a.json));
      expect(texts.filter((t) => t.includes('this request joins it'))).toHaveLength(2);
      expect(await queue.getWaitingCount()).toBe(1);
    } finally {
      await queue.resume();
    }
    await pollSettled(app, 0);
    expect(await queue.getWaitingCount()).toBe(0);
  });

  it('shows counts, last call, top endpoints, the guessed integration, the quiet app and candidates', async () => {
    const res = await app.command('status');
    expect(res.status).toBe(200);
    expect(res.ms).toBeLessThan(1_000);
    expect(res.json?.response_type).toBe('ephemeral');
    const text = visibleText(res.json);
    expect(text).toContain(`*Azure SCIM JWT* \`${SCIM}\` · :large_green_circle: active`);
    expect(text).toContain('24 h: *30* (new, 2 failed) · 7 d: *35* (new) · last call 3 min ago');
    expect(text).toContain('Top: `PATCH /scim2/Users/{userId}` 20 · `GET /scim2/Users` 10 · `POST /users/{userId}/meetings` 5');
    expect(text).toMatch(/Likely: SCIM provisioning from Azure AD/);
    expect(text).toMatch(new RegExp(`• \\*Legacy Reports JWT\\* \`${QUIET}\` — :large_green_circle: active · no calls in 7 d · last call never`));
    expect(text).toContain(`*Forgotten Sync* \`${CANDIDATE}\` — \`/zoomjwt track ${CANDIDATE}\``);
    expect(text).toMatch(/:white_check_mark: \*default\*: last poll (just now|\d+ min ago), 0 new entries, \d+ API requests/);
    expect(String(res.json?.text)).toContain('2 tracked apps');
  });

  it('answers a repeated status from its last build, and rebuilds when a write in another process changes it', async () => {
    const count = async (source: string) => {
      const text = await (await fetch(`${app.url}/metrics`)).text();
      return Number(new RegExp(`zoomjwt_status_answers_total\\{[^}]*source="${source}"[^}]*\\} (\\d+)`).exec(text)?.[1] ?? 0);
    };
    const first = visibleText((await app.command('status')).json);
    const [cacheBefore, buildsBefore] = [await count('cache'), await count('build')];
    const again = await app.command('status');
    // The cached answer goes out as JSON text serialized once; Slack needs it declared JSON.
    expect(again.contentType).toMatch(/^application\/json/);
    const second = visibleText(again.json);
    expect(second).toBe(first);
    expect(await count('cache')).toBe(cacheBefore + 1);
    expect(await count('build')).toBe(buildsBefore);

    // Another process: its own connection and store, nothing shared with this app but Redis.
    const other = openRedis({ maxRetriesPerRequest: 2 });
    try {
      await createAppStore(other, createKeys(app.prefix), ['default']).update(QUIET, { owner: 'U0ELSEWHERE' });
    } finally {
      other.disconnect();
    }
    const third = visibleText((await app.command('status')).json);
    expect(third).toContain('owner <@U0ELSEWHERE>');
    expect(await count('build')).toBe(buildsBefore + 1);
    // And `status public` is its own answer (in the channel), never the ephemeral one.
    const pub = await app.command('status public');
    expect(pub.json?.response_type).toBe('in_channel');
  });

  it('posts status in the channel with `status public`, and refuses other words', async () => {
    const res = await app.command('status public');
    expect(res.json?.response_type).toBe('in_channel');
    expect(visibleText(res.json)).toContain('Azure SCIM JWT');
    const bad = await app.command('status everything');
    expect(visibleText(bad.json)).toContain('Usage: `/zoomjwt status`');
  });

  it('shows one app in depth: daily series, endpoint table, guide, history', async () => {
    const res = await app.command('app azure');
    // Native blocks are not acked (a refused ack is invisible): the answer came on the response_url.
    expect(res.body).toBe('');
    const text = visibleText(res.json);
    expect(text).toContain('Calls per day, last 30 days');
    expect(text).toContain('30 d: *35* calls, 2 failed (6%)');
    expect(text).toContain('Azure Automated Provisioning (SCIM)');
    expect(text).toContain('History');
    const blocks = (res.json?.blocks ?? []) as Array<Record<string, any>>;
    // A native chart: successful and failed calls as two series, 30 days grouped by two (≤ 20 points).
    const chart = blocks.find((b) => b.type === 'data_visualization');
    expect(chart?.chart.type).toBe('bar');
    expect(chart?.chart.series.map((x: { name: string }) => x.name)).toEqual(['Successful', 'Failed']);
    expect(chart?.chart.axis_config.categories).toHaveLength(15);
    const total = (i: number) => chart?.chart.series[i].data.reduce((n: number, p: { value: number }) => n + p.value, 0);
    expect([total(0), total(1)]).toEqual([33, 2]);
    // The endpoint list as a table block, no monospace columns.
    const table = blocks.find((b) => b.type === 'table');
    const rows = table?.rows.map((r: Array<{ text: string }>) => r.map((c) => c.text));
    expect(rows?.[0]).toEqual(['Method', 'Endpoint', 'Calls', 'Errors', 'Last (UTC)']);
    expect(rows).toContainEqual(expect.arrayContaining(['PATCH', '/scim2/Users/{userId}', '20', '2']));
    expect(rows).toContainEqual(expect.arrayContaining(['GET', '/scim2/Users', '10', '-']));
    expect(text).not.toMatch(/`[▁▂▃▄▅▆▇█]{30}`/);
  });

  it('falls back to the text sparkline and columns where Slack refuses native blocks, and remembers it', async () => {
    const s = services();
    const memory = s.keys.k('native-refused', s.slackIdentity.teamId);
    app.slack.refuseBlockTypes(['data_visualization', 'table', 'data_table']);
    try {
      const declinedBefore = app.slack.declined.length;
      const first = await app.command('app azure');
      // Refused on the response_url (HTTP 400 invalid_blocks), then answered again without them.
      expect(app.slack.declined.length).toBe(declinedBefore + 1);
      const text = visibleText(first.json);
      expect(text).toMatch(/`[▁▂▃▄▅▆▇█]{30}`/);
      expect(text).toMatch(/PATCH\s+\/scim2\/Users\/\{userId\}\s+20\s+2\s/);
      expect(text).toMatch(/GET\s+\/scim2\/Users\s+10\s+-\s/);
      expect(((first.json?.blocks ?? []) as Array<{ type: string }>).map((b) => b.type)).not.toContain('data_visualization');
      expect(await s.redis.exists(memory)).toBe(1);
      // Remembered: the next answer is the fallback, acked at once, with nothing refused.
      const second = await app.command('app azure');
      expect(second.body).not.toBe('');
      expect(visibleText(second.json)).toMatch(/`[▁▂▃▄▅▆▇█]{30}`/);
      expect(app.slack.declined.length).toBe(declinedBefore + 1);
    } finally {
      app.slack.refuseBlockTypes([]);
      await s.redis.del(memory);
    }
  });

  it('lists candidates for ambiguous and unknown names, and points to track for untracked apps', async () => {
    const ambiguous = visibleText((await app.command('app jwt')).json);
    expect(ambiguous).toContain('matches 2 apps');
    expect(ambiguous).toContain(`\`${SCIM}\``);
    expect(ambiguous).toContain(`\`${QUIET}\``);
    const unknown = visibleText((await app.command('app nothing-like-it')).json);
    expect(unknown).toContain('No tracked app matches');
    expect(unknown).toContain(`*Legacy Reports JWT* \`${QUIET}\``);
    const untracked = visibleText((await app.command('app forgotten')).json);
    expect(untracked).toContain(`is not tracked yet`);
    expect(untracked).toContain(`/zoomjwt track ${CANDIDATE}`);
    const empty = visibleText((await app.command('app')).json);
    expect(empty).toContain('Usage: `/zoomjwt app <app>`');
  });

  it('answers track of an unknown id through the response URL, changing nothing', async () => {
    const res = await app.command('track NoSuchApp99');
    expect(visibleText(res.json)).toContain('Looking up `NoSuchApp99` in Zoom');
    const later = await app.slack.waitForResponse((r) => JSON.stringify(r.body).includes('NoSuchApp99'));
    expect(visibleText(later.body)).toContain('Zoom has no app with id `NoSuchApp99`');
    expect(visibleText(later.body)).toContain(CANDIDATE);
    expect(await services().apps.get('NoSuchApp99')).toBeNull();
    const bad = visibleText((await app.command('track not/an-id')).json);
    expect(bad).toContain('does not look like a Zoom app id');
    const two = visibleText((await app.command('track a b')).json);
    expect(two).toContain('Give one Zoom app id');
  });

  it('tracks a known id: confirmation, audit entry, candidate gone, poll queued', async () => {
    const since = Date.now();
    const res = await app.command('track CandApp0003', { user_id: 'U0ALICE' });
    expect(visibleText(res.json)).toContain('Looking up');
    const later = await app.slack.waitForResponse((r) => JSON.stringify(r.body).includes('Now tracking'));
    expect(visibleText(later.body)).toContain(`Now tracking *Forgotten Sync* \`${CANDIDATE}\``);
    const tracked = await services().apps.get(CANDIDATE);
    expect(tracked).toMatchObject({ name: 'Forgotten Sync', trackedBy: 'U0ALICE', state: 'active' });
    expect((await services().apps.candidates()).map((c) => c.appId)).not.toContain(CANDIDATE);
    const [entry] = await services().audit.latest(1, { appId: CANDIDATE });
    expect(entry).toMatchObject({ type: 'app.tracked', actor: 'U0ALICE', appId: CANDIDATE });
    await pollSettled(app, since);
    const again = visibleText((await app.command(`track ${CANDIDATE}`)).json);
    expect(again).toContain('already tracked');
  });

  it('records the owner from a mention, and refuses a plain @name without changing anything', async () => {
    const res = await app.command('owner Azure SCIM JWT <@U0DANA|dana>', { user_id: 'U0ALICE' });
    expect(visibleText(res.json)).toContain('<@U0DANA> now owns the migration of *Azure SCIM JWT*');
    expect(await services().apps.get(SCIM)).toMatchObject({ owner: 'U0DANA', ownerSetBy: 'U0ALICE' });
    // State changes name the app exactly: a partial name gets the candidates, and nothing changes.
    const partial = visibleText((await app.command('owner azure <@U0ERIN>')).json);
    expect(partial).toContain('Azure SCIM JWT');
    expect((await services().apps.get(SCIM))?.owner).toBe('U0DANA');
    const plain = visibleText((await app.command('owner Azure SCIM JWT @erin')).json);
    expect(plain).toContain('reached me as plain text');
    expect(plain).toContain('autocomplete');
    expect((await services().apps.get(SCIM))?.owner).toBe('U0DANA');
    expect(visibleText((await app.command('owner Azure SCIM JWT')).json)).toContain('Usage: `/zoomjwt owner <app> @user`');
    const bare = await app.command('owner azure scim jwt <@U0ERIN>');
    expect(visibleText(bare.json)).toContain('<@U0ERIN> now owns');
    expect(visibleText(bare.json)).toContain('(was <@U0DANA>)');
  });

  it('records migrated with a note, and status and app show owner, flag and history', async () => {
    const res = await app.command('migrated Azure SCIM JWT callers moved to S2S', { user_id: 'U0ALICE' });
    expect(visibleText(res.json)).toContain('“callers moved to S2S”');
    expect(await services().apps.get(SCIM)).toMatchObject({ migrated: true, migratedNote: 'callers moved to S2S', migratedBy: 'U0ALICE' });
    const status = visibleText((await app.command('status')).json);
    expect(status).toContain('owner <@U0ERIN> · :white_check_mark: migrated — “callers moved to S2S”');
    const detail = visibleText((await app.command(`app ${SCIM}`)).json);
    expect(detail).toContain('*Owner:* <@U0ERIN>');
    expect(detail).toContain('says <@U0ALICE>');
    expect(detail).toContain('marked Azure SCIM JWT as migrated: callers moved to S2S');
    expect(detail).toContain('made <@U0DANA> the owner of Azure SCIM JWT');
    const unknown = visibleText((await app.command('migrated nothing-like-it done')).json);
    expect(unknown).toContain('No tracked app matches');
  });

  it('untracks an app, keeping its history', async () => {
    const partial = visibleText((await app.command('untrack forgotten')).json);
    expect(partial).toContain(CANDIDATE);
    expect(await services().apps.get(CANDIDATE)).not.toBeNull();
    const res = await app.command('untrack Forgotten Sync');
    expect(visibleText(res.json)).toContain('Stopped tracking *Forgotten Sync*');
    expect(await services().apps.get(CANDIDATE)).toBeNull();
    const [entry] = await services().audit.latest(1, { appId: CANDIDATE });
    expect(entry?.type).toBe('app.untracked');
    expect(visibleText((await app.command('untrack Forgotten Sync')).json)).toContain('No tracked app matches');
  });

  it('keeps an untracked app and the candidate list for 30 days; tracking the app again keeps it for good', async () => {
    const s = services();
    const ttlDays = async (key: string) => (await s.redis.pttl(key)) / DAY;
    // Untracked by the test before: its hash and usage keys now have a lifetime.
    const kept = [s.keys.k('app', CANDIDATE), s.keys.k('usage', CANDIDATE), s.keys.k('hours', CANDIDATE), s.keys.k('families', CANDIDATE), s.keys.k('sample', CANDIDATE), s.keys.k('readstate', CANDIDATE)];
    const present = [];
    for (const key of kept) if ((await s.redis.exists(key)) === 1) present.push(key);
    expect(present).toContain(s.keys.k('app', CANDIDATE));
    expect(present).toContain(s.keys.k('readstate', CANDIDATE));
    for (const key of present) {
      expect(await ttlDays(key)).toBeGreaterThan(29.9);
      expect(await ttlDays(key)).toBeLessThanOrEqual(30);
    }
    // The next poll lists it as a candidate again; the candidates hash has the same lifetime.
    await pollNow(app);
    expect((await s.apps.candidates()).map((c) => c.appId)).toContain(CANDIDATE);
    expect(await ttlDays(s.keys.k('candidates', 'default'))).toBeGreaterThan(29.9);

    const answered = app.slack.responses.length;
    const since = Date.now();
    await app.command(`track ${CANDIDATE}`, { user_id: 'U0ALICE' });
    await app.slack.waitForResponse((r) => app.slack.responses.indexOf(r) >= answered && JSON.stringify(r.body).includes('Now tracking'));
    await pollSettled(app, since);
    for (const key of present) expect(await s.redis.pttl(key)).toBe(-1);

    expect(visibleText((await app.command('untrack Forgotten Sync')).json)).toContain('Stopped tracking');
  });

  it('counts a call Zoom published late and exports it, and says in status when entries were dropped', async () => {
    const before = (await services().usage.summary(SCIM)).ingested;
    // Published now, dated two hours back: below the last read's newest entry.
    zoom.addLogs(SCIM, [{ method: 'GET', url_pattern: 'https://api.zoom.us/v2/scim2/Users', time: String(Date.now() - 2 * 60 * MIN), http_status: 401, trace_id: 'published-late' }]);
    zoom.setLogShape(SCIM, { unreadablePerPage: 1 });
    await pollNow(app);
    expect((await services().usage.summary(SCIM)).ingested).toBe(before + 1);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(/zoomjwt_call_log_entries_late_total\{[^}]*account="default"[^}]*\} 1\n/);
    expect(metrics).toMatch(/zoomjwt_call_log_entries_not_counted_total\{[^}]*reason="unreadable"[^}]*\} 1\n/);
    expect(visibleText((await app.command('status')).json)).toMatch(/Azure SCIM JWT[\s\S]*Evidence degraded: 1 entry Zoom sent could not be read and was dropped/);
    expect(visibleText((await app.command(`app ${SCIM}`)).json)).toMatch(/1 call counted late/);
  });

  it('shows a missing scope as a readable problem in status', async () => {
    zoom.setScopes(ACCOUNT_ID, ALL_SCOPES.filter((s) => s !== 'marketplace:read:list_api_logs:admin'));
    try {
      await pollNow(app);
      const text = visibleText((await app.command('status')).json);
      expect(text).toContain(':warning: *default*: the last poll failed');
      expect(text).toContain('lacks scope marketplace:read:list_api_logs:admin');
      expect(text).toMatch(/Last good poll (just now|\d+ min ago)/);
    } finally {
      zoom.setScopes(ACCOUNT_ID, ALL_SCOPES);
    }
  });

  it('collapses concurrent polls into one and answers status while Zoom hangs', async () => {
    zoom.resetCounters();
    zoom.hangNext(1, /^GET \/marketplace\/apps\?/);
    const first = visibleText((await app.command('poll')).json);
    expect(first).toContain('Polling 1 account now…');
    await until(async () => isPollRunning(services(), 'default'), 'the poll to start', { timeoutMs: 15_000, everyMs: 50 });
    const second = visibleText((await app.command('poll')).json);
    expect(second).toContain('was already running; this request joins it');
    const res = await app.command('status');
    expect(res.ms).toBeLessThan(1_000);
    expect(visibleText(res.json)).toContain('polling now');
    expect(visibleText(res.json)).toContain('Azure SCIM JWT');
    expect(zoom.requests.filter((r) => r.startsWith('GET /marketplace/apps?'))).toHaveLength(1);
    expect(app.logsAtLeast(50)).toEqual([]);
  });
});

describe('wrong Zoom credentials', () => {
  let zoom: FakeZoom;
  let app: Booted;

  beforeAll(async () => {
    zoom = await startTestZoom({ clientSecret: 'the-real-secret-1234' });
    zoom.addApp(ACCOUNT_ID, { app_id: SCIM, app_name: 'Azure SCIM JWT' });
    // The scheduler polls at once on start (BullMQ runs an `every` scheduler immediately).
    app = await bootApp('evidence-creds', evidenceEnv({ POLL_EVERY: '1m' }), { zoom, shutdownGraceMs: 5_000 });
  });
  afterAll(async () => {
    await zoom?.close();
    await app?.stop();
  });

  it('schedules one poll per account and shows the refusal in status, without secrets', async () => {
    const schedulers = await app.running.services.queues.poll.getJobSchedulers();
    expect(schedulers.map((s) => [s.key, s.every])).toEqual([['poll:default', 60_000]]);
    await until(async () => (await app.running.services.health.get('default')).lastError, 'the scheduled poll to fail', { timeoutMs: 15_000, everyMs: 50 });
    const res = await app.command('status');
    const text = visibleText(res.json);
    expect(text).toContain(':warning: *default*: the last poll failed');
    expect(text).toContain('Zoom refused the credentials for account default');
    expect(text).toContain('No good poll yet.');
    expect(String(res.json?.text)).toContain('polling problem on default');
    for (const secret of [TEST_SECRETS.zoomClientSecret, 'the-real-secret-1234', TEST_SECRETS.botToken]) {
      expect(res.body).not.toContain(secret);
    }
  });

  it('answers status for 500 tracked apps quickly and within Slack limits', async () => {
    const s = app.running.services;
    for (let i = 0; i < 500; i++) {
      await s.apps.track({ appId: `Bulk${String(i).padStart(4, '0')}`, account: 'default', name: `Bulk app ${i}`, trackedBy: 'U0ALICE' }, Date.now());
    }
    const res = await app.command('status');
    expect(res.ms).toBeLessThan(1_000);
    const blocks = res.json?.blocks as Array<{ type: string; text?: { text: string } }>;
    expect(blocks.length).toBeLessThanOrEqual(50);
    expect(Math.max(...blocks.map((b) => b.text?.text.length ?? 0))).toBeLessThanOrEqual(3000);
    expect(visibleText(res.json)).toMatch(/…and \d+ more quiet apps/);
    expect(app.logsAtLeast(50)).toEqual([]);
  });
});
