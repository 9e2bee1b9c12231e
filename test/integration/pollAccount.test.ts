/**
 * One account's poll against the fake Zoom HTTP server and a real Redis: candidates, renamed
 * apps, apps removed outside the bot, new endpoint families, and the health record that makes a
 * failing poll visible.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { ZoomAccount } from '../../src/config';
import { pollAccount, type PollEvent } from '../../src/capabilities/evidence/jobs/pollAccount';
import { createLogger } from '../../src/log';
import { createAppStore, type AppStore } from '../../src/capabilities/evidence/stores/apps';
import { createHealthStore, type HealthStore } from '../../src/capabilities/evidence/stores/health';
import { createKeys, type Keys } from '../../src/platform/redis/keys';
import { createUsageStore, type UsageStore } from '../../src/capabilities/evidence/stores/usage';
import { DAY_MS } from '../../src/capabilities/evidence/stores/usageKeys';
import { createZoomClient, type ZoomClient } from '../../src/platform/zoom/client';
import { dailyLimited, missingScope, type FakeZoom } from '../../dev/fakes/zoomServer';
import { closePollFixture, openPollFixture } from '../helpers/pollFixture';
import { uniquePrefix } from '../helpers/redis';

const FILE_PREFIX = uniquePrefix('pollAccount');
let now = Math.floor(Date.now() / 60_000) * 60_000;
const clock = () => now;
const { log } = createLogger({ level: 'silent', secrets: [] });

let fake: FakeZoom;
let redis: Redis;
let seq = 0;

beforeAll(async () => {
  ({ fake, redis } = await openPollFixture(clock));
});

afterAll(async () => {
  await closePollFixture({ fake, redis }, FILE_PREFIX);
});

interface Setup {
  account: ZoomAccount;
  keys: Keys;
  apps: AppStore;
  usage: UsageStore;
  health: HealthStore;
  events: PollEvent[];
  client(secret?: string): ZoomClient;
  poll(client?: ZoomClient): ReturnType<typeof pollAccount>;
  id(name: string): string;
}

function setup(): Setup {
  seq += 1;
  const keys = createKeys(`${FILE_PREFIX}-${seq}`);
  const suffix = `${seq}${randomBytes(3).toString('hex')}`;
  const account: ZoomAccount = {
    name: `acct${seq}`,
    accountId: `acc-${suffix}`,
    clientId: `cid-${suffix}`,
    clientSecret: `secret-${randomBytes(10).toString('hex')}`,
    apiUrl: fake.apiUrl,
  };
  fake.addAccount({ accountId: account.accountId, clientId: account.clientId, clientSecret: account.clientSecret });
  const apps = createAppStore(redis, keys, [account.name]);
  const usage = createUsageStore({ redis, keys });
  const health = createHealthStore({ redis, keys });
  const events: PollEvent[] = [];
  const client = (secret = account.clientSecret) =>
    createZoomClient({
      account: { ...account, clientSecret: secret },
      oauthUrl: fake.oauthUrl,
      redis,
      keys,
      log,
      clock,
      addSecret: () => undefined,
      timeoutMs: 5_000,
      sleep: async () => undefined,
    });
  const defaultClient = client();
  return {
    account,
    keys,
    apps,
    usage,
    health,
    events,
    client,
    poll: (zoom = defaultClient) =>
      pollAccount({ account: account.name, zoom, apps, usage, health, clock, log, onEvent: (e) => void events.push(e) }),
    id: (name) => `${name}${suffix}`,
  };
}

beforeEach(() => {
  now += DAY_MS;
});

test('untracked created apps become candidates; tracked ones are polled and keep Zoom’s current name', async () => {
  const s = setup();
  const [jwt, scim, other] = [s.id('jwt'), s.id('scim'), s.id('other')];
  fake.addApp(s.account.accountId, { app_id: jwt, app_name: 'Reporting JWT (renamed)', app_type: 'JWT', app_status: 'PUBLISHED' });
  fake.addApp(s.account.accountId, { app_id: scim, app_name: 'Azure SCIM JWT', app_type: 'OAuthApp' });
  fake.addApp(s.account.accountId, { app_id: other, app_name: 'Chat bot', app_type: 'ChatbotApp' });
  await s.apps.track({ appId: jwt, account: s.account.name, name: 'Reporting JWT', trackedBy: 'U1' }, now);
  fake.generateLogs(jwt, { count: 450, fromMs: now - 3 * DAY_MS, toMs: now - 1_000, endpoints: [{ method: 'GET', url: 'https://api.zoom.us/v2/report/daily' }] });

  const r = await s.poll();

  expect(r).toMatchObject({ account: s.account.name, apps: 1, ingested: 450, complete: true, errors: [] });
  const candidates = await s.apps.candidates();
  expect(candidates.map((c) => c.appId).sort()).toEqual([other, scim].sort());
  expect(candidates.find((c) => c.appId === scim)).toMatchObject({ account: s.account.name, name: 'Azure SCIM JWT', appType: 'OAuthApp', seenAt: now });
  expect(await s.apps.get(jwt)).toMatchObject({ name: 'Reporting JWT (renamed)', appType: 'JWT', appStatus: 'PUBLISHED', state: 'active' });
  expect((await s.usage.summary(jwt)).ingested).toBe(450);
  // The first read is a baseline: its families are not news.
  expect(s.events).toEqual([]);

  // Tracking a candidate takes it off the list at the next poll.
  await s.apps.track({ appId: scim, account: s.account.name, name: 'Azure SCIM JWT', trackedBy: 'U1' }, now);
  now += 15 * 60_000;
  const second = await s.poll();
  expect(second.apps).toBe(2);
  expect((await s.apps.candidates()).map((c) => c.appId)).toEqual([other]);
});

test('an app removed outside the bot is marked gone once, with one event, and no longer polled', async () => {
  const s = setup();
  const app = s.id('gone');
  fake.addApp(s.account.accountId, { app_id: app, app_name: 'Old JWT' });
  await s.apps.track({ appId: app, account: s.account.name, name: 'Old JWT', trackedBy: 'U1' }, now);
  await s.poll();
  fake.removeApp(app);

  now += 15 * 60_000;
  const goneAt = now;
  const r = await s.poll();
  expect(r.errors).toEqual([]);
  expect(r.apps).toBe(0);
  expect(s.events).toEqual([{ type: 'app_gone', account: s.account.name, appId: app, name: 'Old JWT' }]);
  expect(await s.apps.get(app)).toMatchObject({ goneAt, state: 'active' });

  fake.resetCounters();
  now += 15 * 60_000;
  await s.poll();
  expect(s.events).toHaveLength(1);
  expect(fake.requests.filter((q) => q.includes(app))).toEqual([]);
  expect((await s.apps.get(app))?.goneAt).toBe(goneAt);
});

test('a new endpoint family after the first read raises one event', async () => {
  const s = setup();
  const app = s.id('fam');
  fake.addApp(s.account.accountId, { app_id: app, app_name: 'Rooms JWT' });
  await s.apps.track({ appId: app, account: s.account.name, name: 'Rooms JWT', trackedBy: 'U1' }, now);
  fake.generateLogs(app, { count: 50, fromMs: now - DAY_MS, toMs: now - 1_000, endpoints: [{ method: 'GET', url: 'https://api.zoom.us/v2/users/a@b.c/meetings' }] });
  await s.poll();
  now += 15 * 60_000;
  fake.generateLogs(app, { count: 5, fromMs: now - 5 * 60_000, toMs: now, endpoints: [{ method: 'GET', url: 'https://api.zoom.us/v2/rooms/abcDEF123/meetings' }] });
  await s.poll();
  now += 15 * 60_000;
  fake.generateLogs(app, { count: 5, fromMs: now - 5 * 60_000, toMs: now, endpoints: [{ method: 'GET', url: 'https://api.zoom.us/v2/rooms/xyz987/meetings' }] });
  await s.poll();
  expect(s.events).toHaveLength(1);
  expect(s.events[0]).toMatchObject({ type: 'new_family', appId: app, name: 'Rooms JWT', families: [expect.stringMatching(/room/i)] });
});

test('health records successes: requests spent, entries ingested, running totals', async () => {
  const s = setup();
  const app = s.id('h');
  fake.addApp(s.account.accountId, { app_id: app, app_name: 'Health JWT' });
  await s.apps.track({ appId: app, account: s.account.name, name: 'Health JWT', trackedBy: 'U1' }, now);
  fake.generateLogs(app, { count: 250, fromMs: now - 2 * DAY_MS, toMs: now - 1_000 });
  const started = now;
  const r = await s.poll();
  // list apps (1 page) + app info + 3 call-log pages.
  expect(r.requests).toBe(5);
  const h = await s.health.get(s.account.name);
  expect(h).toMatchObject({ account: s.account.name, lastStart: started, lastSuccess: now, requests: 5, requestsTotal: 5, ingested: 250, ingestedTotal: 250, consecutiveFailures: 0 });
  expect(h.lastError).toBeUndefined();
  expect(h.failingSince).toBeUndefined();

  now += 15 * 60_000;
  fake.generateLogs(app, { count: 10, fromMs: now - 60_000, toMs: now });
  const second = await s.poll();
  expect(second.requests).toBeGreaterThanOrEqual(3);
  expect(await s.health.get(s.account.name)).toMatchObject({ ingested: 10, ingestedTotal: 260, requests: second.requests, requestsTotal: 5 + second.requests });
  expect((await s.health.getAll([s.account.name, 'nobody'])).map((x) => x.account)).toEqual([s.account.name, 'nobody']);
});

test('wrong credentials: the poll fails visibly, with a readable error and a failure streak, never the secret', async () => {
  const s = setup();
  const app = s.id('cred');
  fake.addApp(s.account.accountId, { app_id: app, app_name: 'Cred JWT' });
  await s.apps.track({ appId: app, account: s.account.name, name: 'Cred JWT', trackedBy: 'U1' }, now);
  const wrongSecret = `${s.account.clientSecret}-wrong`;
  const bad = s.client(wrongSecret);

  const first = await s.poll(bad);
  const failedAt = now;
  expect(first.complete).toBe(false);
  expect(first.errors).toEqual([{ kind: 'auth', message: expect.stringContaining(`account ${s.account.name}`) }]);
  let h = await s.health.get(s.account.name);
  expect(h).toMatchObject({ lastErrorKind: 'auth', lastErrorAt: failedAt, consecutiveFailures: 1, failingSince: failedAt });
  expect(h.lastError).toMatch(/Zoom refused the credentials/);
  expect(h.lastSuccess).toBeUndefined();
  expect(JSON.stringify(h)).not.toContain(wrongSecret);
  expect(JSON.stringify(h)).not.toContain(s.account.clientSecret);

  now += 15 * 60_000;
  await s.poll(bad);
  h = await s.health.get(s.account.name);
  expect(h).toMatchObject({ consecutiveFailures: 2, failingSince: failedAt, lastErrorAt: now });

  // Credentials fixed: the streak ends.
  now += 15 * 60_000;
  const ok = await s.poll(s.client());
  expect(ok.errors).toEqual([]);
  h = await s.health.get(s.account.name);
  expect(h).toMatchObject({ consecutiveFailures: 0, lastSuccess: now });
  expect(h.failingSince).toBeUndefined();
});

test('a Daily-limit pause stops the poll, records when it ends, and the next poll after it resumes', async () => {
  const s = setup();
  const [a, b] = [s.id('pa'), s.id('pb')];
  for (const id of [a, b]) {
    fake.addApp(s.account.accountId, { app_id: id, app_name: `JWT ${id}` });
    await s.apps.track({ appId: id, account: s.account.name, name: `JWT ${id}`, trackedBy: 'U1' }, now);
    fake.generateLogs(id, { count: 300, fromMs: now - 3 * DAY_MS, toMs: now - 1_000 });
  }
  const until = now + 2 * 3_600_000;
  fake.failNext(1, dailyLimited(new Date(until).toISOString(), /api_call_logs.*next_page_token=/));
  const r = await s.poll();
  expect(r.complete).toBe(false);
  expect(r.pausedUntil).toBe(until);
  expect(r.errors).toEqual([{ appId: expect.any(String), kind: 'paused', message: expect.stringMatching(/daily API limit/) }]);
  const h = await s.health.get(s.account.name);
  expect(h).toMatchObject({ pausedUntil: until, lastErrorKind: 'paused', consecutiveFailures: 1 });

  now = until + 60_000;
  const after = await s.poll();
  expect(after).toMatchObject({ complete: true, errors: [] });
  expect((await s.usage.summary(a)).ingested + (await s.usage.summary(b)).ingested).toBe(600);
  expect((await s.health.get(s.account.name)).pausedUntil).toBeUndefined();
});

test('app_status differs only in case between the list and Get: a second poll rewrites nothing', async () => {
  const s = setup();
  const app = s.id('case');
  fake.addApp(s.account.accountId, { app_id: app, app_name: 'Case JWT' });
  await s.apps.track({ appId: app, account: s.account.name, name: 'Case JWT', trackedBy: 'U1' }, now);
  await s.poll();
  // Counts the app writes of the next poll (a pass-through, the store itself is the real one).
  const writes: Array<Record<string, unknown>> = [];
  const apps: AppStore = { ...s.apps, update: async (id, fields) => { writes.push({ id, ...fields }); await s.apps.update(id, fields); } };

  now += 15 * 60_000;
  await pollAccount({ account: s.account.name, zoom: s.client(), apps, usage: s.usage, health: s.health, clock, log });

  // The list says UNPUBLISHED and Get says unpublished: the first poll's value stays.
  expect(writes).toEqual([]);
  expect((await s.apps.get(app))?.appStatus).toBe('UNPUBLISHED');
});

test('a missing scope (HTTP 400 code 4711) is named in the poll health', async () => {
  const s = setup();
  fake.failNext(1, missingScope(['marketplace:read:list_apps:admin'], /^GET \/marketplace\/apps\?/));

  const r = await s.poll();

  expect(r.errors).toEqual([{ kind: 'scope', message: expect.stringContaining('lacks scope marketplace:read:list_apps:admin') }]);
  expect(await s.health.get(s.account.name)).toMatchObject({ lastErrorKind: 'scope', lastError: expect.stringContaining('marketplace:read:list_apps:admin') });
});
