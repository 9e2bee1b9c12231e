/**
 * The Zoom client against the fake Zoom HTTP server and a real Redis: token sharing, retries,
 * rate limits, pagination, error mapping, and that no token or secret ever reaches an error or a
 * log line.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ZoomAccount } from '../../src/config';
import { createLogger } from '../../src/log';
import { createKeys } from '../../src/platform/redis/keys';
import { createZoomClient, type ZoomClient, type ZoomRequestInfo } from '../../src/platform/zoom/client';
import { getPause } from '../../src/platform/zoom/stores/pause';
import { ZoomError, ZoomPausedError, type ZoomErrorKind } from '../../src/platform/zoom/errors';
import { apiBaseFromTokenAnswer, createTokenCache } from '../../src/platform/zoom/token';
import type { ZoomCallLog } from '../../src/platform/zoom/types';
import { ALL_SCOPES, dailyLimited, internalErrorTryAgain, missingScope, qpsLimited, startFakeZoom, type FakeZoom } from '../../dev/fakes/zoomServer';
import { dropPrefix, openRedis, uniquePrefix } from '../helpers/redis';
import { freePort } from '../helpers/net';

const DAY = 86_400_000;
const prefix = uniquePrefix('zoomClient');
const keys = createKeys(prefix);

let now = Date.parse('2026-03-02T12:00:00Z');
const clock = () => now;

let fake: FakeZoom;
let redis: Redis;
let redis2: Redis;
const logLines: string[] = [];
const registeredSecrets = new Set<string>();
const clientSecrets: string[] = [];
const sleeps: number[] = [];
// Deliberately no scrubbing secrets: the lines must be clean on their own.
const { log } = createLogger({ level: 'debug', secrets: [] }, { write: (line: string) => logLines.push(line) });

let accountSeq = 0;

interface Setup {
  account: ZoomAccount;
  client: ZoomClient;
  requestsSeen: ZoomRequestInfo[];
  /** Another "process": its own client and Redis connection on the same keys. */
  second(): ZoomClient;
}

function setup(overrides: { timeoutMs?: number; apiUrl?: string; wrongSecret?: boolean; apiUrlDefault?: true } = {}): Setup {
  accountSeq += 1;
  const accountId = `acc${accountSeq}-${randomBytes(3).toString('hex')}`;
  const clientSecret = `secret-${randomBytes(12).toString('hex')}`;
  clientSecrets.push(clientSecret);
  fake.addAccount({ accountId, clientId: `client-${accountSeq}`, clientSecret });
  const account: ZoomAccount = {
    name: `acct${accountSeq}`,
    accountId,
    clientId: `client-${accountSeq}`,
    clientSecret: overrides.wrongSecret ? `${clientSecret}-wrong` : clientSecret,
    apiUrl: overrides.apiUrl ?? fake.apiUrl,
    ...(overrides.apiUrlDefault ? { apiUrlDefault: true as const } : {}),
  };
  if (overrides.wrongSecret) clientSecrets.push(account.clientSecret);
  const requestsSeen: ZoomRequestInfo[] = [];
  const make = (conn: Redis) =>
    createZoomClient({
      account,
      oauthUrl: fake.oauthUrl,
      redis: conn,
      keys,
      log,
      clock,
      addSecret: (s) => registeredSecrets.add(s),
      timeoutMs: overrides.timeoutMs ?? 5_000,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      onRequest: (info) => requestsSeen.push(info),
    });
  return { account, client: make(redis), requestsSeen, second: () => make(redis2) };
}

/** Awaits a rejection, checks its kind, and that it carries no token or secret anywhere. */
async function rejection(promise: Promise<unknown>, kind: ZoomErrorKind): Promise<ZoomError> {
  const err = await promise.then(
    () => {
      throw new Error(`expected a ZoomError of kind ${kind}, got success`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ZoomError);
  const zerr = err as ZoomError;
  expect(zerr.kind).toBe(kind);
  const everything = [zerr.message, zerr.explain(), String(zerr.stack), JSON.stringify(zerr)].join('\n');
  for (const secret of [...clientSecrets, ...fake.issuedTokens()]) expect(everything).not.toContain(secret);
  return zerr;
}

function logEntry(appId: string, n: number, time: number, extra: Partial<ZoomCallLog> = {}): ZoomCallLog {
  return { url_pattern: `https://api.zoom.us/v2/users/u${n}/meetings`, time: String(time), http_status: 200, method: 'GET', trace_id: `${appId}-t${n}`, ...extra };
}

beforeAll(async () => {
  fake = await startFakeZoom({ clock });
  redis = openRedis({ maxRetriesPerRequest: 2 });
  redis2 = openRedis({ maxRetriesPerRequest: 2 });
});

beforeEach(() => {
  fake.resetCounters();
  fake.setTokenDelay(0);
  fake.setDeleteMode('no_content');
  fake.setDeleteNotFound('code_1401');
  sleeps.length = 0;
});

afterAll(async () => {
  await dropPrefix(prefix);
  await Promise.all([redis.quit(), redis2.quit(), fake.close()]);
});

describe("the token answer's api_url (regional hosts)", () => {
  // A port nothing listens on: a call sent to the configured base would fail.
  const unreachable = 'http://127.0.0.1:9/v2';

  test('is used when the API base was not configured, by every process sharing the token', async () => {
    const s = setup({ apiUrl: unreachable, apiUrlDefault: true });
    fake.addApp(s.account.accountId, { app_id: `region${accountSeq}`, app_name: 'Regional' });
    expect((await s.client.listApps()).map((a) => a.app_id)).toEqual([`region${accountSeq}`]);
    // Another process reads the cached token and its api_url from Redis, without fetching.
    const before = fake.tokenRequests;
    expect(await s.second().getApp(`region${accountSeq}`)).toMatchObject({ app_name: 'Regional' });
    expect(fake.tokenRequests).toBe(before);
  });

  test('never overrides an explicit ZOOM_API_URL or accounts-file apiUrl', async () => {
    const s = setup({ apiUrl: unreachable });
    await rejection(s.client.listApps(), 'network');
  });

  test('outside Zoom’s hosts (and the token endpoint’s origin) it is ignored', () => {
    const oauth = 'https://zoom.us/oauth/token';
    expect(apiBaseFromTokenAnswer('https://api-eu.zoom.us', oauth)).toBe('https://api-eu.zoom.us/v2');
    expect(apiBaseFromTokenAnswer('https://api.zoomgov.com/', oauth)).toBe('https://api.zoomgov.com/v2');
    expect(apiBaseFromTokenAnswer('https://api.zoom.us/v2', oauth)).toBe('https://api.zoom.us/v2');
    for (const hostile of ['http://api.zoom.us', 'https://zoom.us.evil.example', 'https://evil.example/zoom.us', 'https://u:p@api.zoom.us', 'https://api.zoom.us?x=1', 'not a url', 42, null]) {
      expect(apiBaseFromTokenAnswer(hostile, oauth)).toBeUndefined();
    }
    expect(apiBaseFromTokenAnswer('http://127.0.0.1:4000', 'http://127.0.0.1:4000/oauth/token')).toBe('http://127.0.0.1:4000/v2');
  });
});

describe('access tokens', () => {
  test('many concurrent calls in one process share one token fetch', async () => {
    const { account, client } = setup();
    fake.addApp(account.accountId, { app_id: 'tok-a1', app_name: 'Legacy JWT' });
    fake.setTokenDelay(100);

    const apps = await Promise.all(Array.from({ length: 20 }, () => client.getApp('tok-a1')));

    expect(apps.every((a) => a?.app_name === 'Legacy JWT')).toBe(true);
    expect(fake.tokenRequests).toBe(1);
    expect(client.stats()).toEqual({ requests: 20, tokenFetches: 1 });
  });

  test('two processes on one Redis share one token fetch', async () => {
    const s = setup();
    fake.addApp(s.account.accountId, { app_id: 'tok-b1', app_name: 'Legacy JWT' });
    const other = s.second();
    fake.setTokenDelay(150);

    await Promise.all([
      ...Array.from({ length: 10 }, () => s.client.getApp('tok-b1')),
      ...Array.from({ length: 10 }, () => other.getApp('tok-b1')),
    ]);

    expect(fake.tokenRequests).toBe(1);
    expect(s.client.stats().tokenFetches + other.stats().tokenFetches).toBe(1);
    expect(s.client.stats().requests + other.stats().requests).toBe(20);
  });

  test('the cached token is reused until 5 minutes before it expires', async () => {
    const { account, client } = setup();
    fake.addApp(account.accountId, { app_id: 'tok-c1', app_name: 'A' });
    const start = now;
    try {
      await client.getApp('tok-c1');
      now = start + 54 * 60_000;
      await client.getApp('tok-c1');
      expect(fake.tokenRequests).toBe(1);
      now = start + 56 * 60_000;
      await client.getApp('tok-c1');
      expect(fake.tokenRequests).toBe(2);
    } finally {
      now = start;
    }
  });

  test('revoked tokens lead to exactly one refetch for a burst of calls, which then succeed', async () => {
    const { account, client } = setup();
    fake.addApp(account.accountId, { app_id: 'tok-d1', app_name: 'A' });
    await client.getApp('tok-d1');
    fake.revokeTokens();
    fake.setTokenDelay(50);

    const apps = await Promise.all(Array.from({ length: 10 }, () => client.getApp('tok-d1')));

    expect(apps.every((a) => a?.app_id === 'tok-d1')).toBe(true);
    expect(fake.tokenRequests).toBe(2);
  });

  test('a 401 on the retry with a fresh token is an auth error', async () => {
    const { account, client } = setup();
    fake.addApp(account.accountId, { app_id: 'tok-e1', app_name: 'A' });
    fake.failNext(2, { status: 401, body: { code: 124, message: 'Invalid access token.' } });

    const err = await rejection(client.getApp('tok-e1'), 'auth');

    expect(err.retryable).toBe(false);
    expect(fake.requests).toHaveLength(2);
    expect(fake.tokenRequests).toBe(2);
    expect(err.explain()).toMatch(/rejected a freshly fetched access token for account acct\d+/);
  });

  test('a wrong client secret is an auth error naming the account, and no API call is made', async () => {
    const { account, client } = setup({ wrongSecret: true });

    const err = await rejection(client.getApp('whatever'), 'auth');

    expect(err.explain()).toBe(`Zoom refused the credentials for account ${account.name} (Invalid client_id or client_secret)`);
    expect(client.stats().requests).toBe(0);
    expect(fake.requests).toHaveLength(0);
  });

  test('dropping a token that was already replaced keeps the new one (compare-and-delete)', async () => {
    const { account } = setup();
    const cache = createTokenCache({
      account,
      oauthUrl: fake.oauthUrl,
      redis,
      keys,
      log,
      clock,
      addSecret: (s) => registeredSecrets.add(s),
      timeoutMs: 5_000,
      async post(url, form, authorization) {
        const res = await fetch(url, { method: 'POST', body: form, headers: { Authorization: authorization, 'Content-Type': 'application/x-www-form-urlencoded' } });
        return { status: res.status, headers: {}, text: await res.text() };
      },
    });
    const first = await cache.get();
    await cache.invalidate('a-token-nobody-holds');
    expect(await cache.get()).toBe(first);

    await cache.invalidate(first);
    const second = await cache.get();
    expect(second).not.toBe(first);
    // A late 401 for a request sent with the old token must not throw the new one away.
    await cache.invalidate(first);
    expect(await cache.get()).toBe(second);
    expect(cache.fetches()).toBe(2);
  });

  test('every fetched token is registered with the log scrubber', () => {
    expect(fake.issuedTokens().length).toBeGreaterThan(0);
    for (const token of fake.issuedTokens()) expect(registeredSecrets.has(token)).toBe(true);
  });
});

describe('rate limits', () => {
  test('a per-second 429 is retried after about a second and the call succeeds', async () => {
    const { account, client } = setup();
    fake.addApp(account.accountId, { app_id: 'rl-a1', app_name: 'A' });
    fake.failNext(2, qpsLimited());

    await expect(client.getApp('rl-a1')).resolves.toMatchObject({ app_id: 'rl-a1' });

    expect(fake.requests).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
    for (const ms of sleeps) expect(ms).toBeGreaterThanOrEqual(1000);
    for (const ms of sleeps) expect(ms).toBeLessThanOrEqual(1500);
  });

  test('after 5 per-second retries the call fails as rate_limited', async () => {
    const { account, client } = setup();
    fake.addApp(account.accountId, { app_id: 'rl-b1', app_name: 'A' });
    fake.failNext(6, qpsLimited());

    const err = await rejection(client.getApp('rl-b1'), 'rate_limited');

    expect(err.retryable).toBe(true);
    expect(fake.requests).toHaveLength(6);
  });

  test('a daily-limit 429 pauses the account until Retry-After and nothing is sent meanwhile', async () => {
    const { account, client } = setup();
    fake.addApp(account.accountId, { app_id: 'rl-c1', app_name: 'A' });
    const retryAfter = '2026-03-03T00:00:00Z';
    fake.failNext(1, dailyLimited(retryAfter));

    const err = await rejection(client.getApp('rl-c1'), 'paused');
    expect(err).toBeInstanceOf(ZoomPausedError);
    expect((err as ZoomPausedError).until).toBe(Date.parse(retryAfter));
    expect(err.explain()).toBe(`Zoom's daily API limit for account ${account.name} is used up; calls resume at 2026-03-03 00:00 UTC`);
    expect(await getPause(redis, keys, account.name)).toBe(Date.parse(retryAfter));
    const ttl = await redis.pttl(keys.k('zoompause', account.name));
    expect(ttl).toBeGreaterThan(12 * 3_600_000 - 60_000);
    expect(ttl).toBeLessThanOrEqual(12 * 3_600_000);

    const sentBefore = fake.requests.length;
    await rejection(client.listCallLogs('rl-c1', { duration: 7, pageSize: 30 }), 'paused');
    await rejection(client.deleteApp('rl-c1'), 'paused');
    expect(fake.requests).toHaveLength(sentBefore);

    const start = now;
    try {
      now = Date.parse(retryAfter) + 1;
      expect(await getPause(redis, keys, account.name, now)).toBeNull();
      await expect(client.getApp('rl-c1')).resolves.toMatchObject({ app_id: 'rl-c1' });
    } finally {
      now = start;
    }
  });

  test('an unreadable daily-limit Retry-After pauses until the next UTC midnight', async () => {
    const { account, client } = setup();
    fake.addApp(account.accountId, { app_id: 'rl-d1', app_name: 'A' });
    fake.failNext(1, dailyLimited('tomorrow-ish'));

    const err = (await rejection(client.getApp('rl-d1'), 'paused')) as ZoomPausedError;

    expect(err.until).toBe(Date.parse('2026-03-03T00:00:00Z'));
  });
});

describe('server errors, timeouts and network failures', () => {
  test('a short burst of 5xx is retried with backoff and the call succeeds', async () => {
    const { account, client } = setup();
    fake.addApp(account.accountId, { app_id: 'se-a1', app_name: 'A' });
    fake.failNext(2, { status: 503, body: '<html>Service Unavailable</html>' });

    await expect(client.getApp('se-a1')).resolves.toMatchObject({ app_id: 'se-a1' });

    expect(fake.requests).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
    expect(sleeps[1]!).toBeGreaterThan(sleeps[0]!);
  });

  test('three 5xx in a row fail as a retryable server error', async () => {
    const { account, client } = setup();
    fake.addApp(account.accountId, { app_id: 'se-b1', app_name: 'A' });
    fake.failNext(3, { status: 500, body: { code: 500, message: 'Internal error' } });

    const err = await rejection(client.getApp('se-b1'), 'server');

    expect(err).toMatchObject({ status: 500, retryable: true, attempts: 3 });
    expect(fake.requests).toHaveLength(3);
  });

  test('a Zoom that never answers is a retryable timeout after 3 attempts', async () => {
    const { account, client, requestsSeen } = setup({ timeoutMs: 150 });
    fake.addApp(account.accountId, { app_id: 'se-c1', app_name: 'A' });
    await client.getApp('se-c1');
    fake.resetCounters();
    fake.hangNext(3);

    const err = await rejection(client.getApp('se-c1'), 'timeout');

    expect(err.retryable).toBe(true);
    expect(fake.requests).toHaveLength(3);
    expect(requestsSeen.filter((r) => r.status === 'error')).toHaveLength(3);
  });

  test('one hang is retried and the call succeeds', async () => {
    const { account, client } = setup({ timeoutMs: 150 });
    fake.addApp(account.accountId, { app_id: 'se-d1', app_name: 'A' });
    fake.hangNext(1);

    await expect(client.getApp('se-d1')).resolves.toMatchObject({ app_id: 'se-d1' });
  });

  test('an unreachable API is a network error', async () => {
    const port = await freePort();
    const { client } = setup({ apiUrl: `http://127.0.0.1:${port}/v2` });

    const err = await rejection(client.getApp('x'), 'network');

    expect(err.causeCode).toBe('ECONNREFUSED');
    expect(err.explain()).toMatch(/could not reach Zoom for account acct\d+ \(ECONNREFUSED\)/);
    expect(client.stats().requests).toBe(3);
  });
});

describe('answers the bot cannot read', () => {
  test('malformed JSON is a malformed error', async () => {
    const { account, client } = setup();
    fake.addApp(account.accountId, { app_id: 'mf-a1', app_name: 'A' });
    fake.failNext(1, { status: 200, body: '{"call_logs": [', path: /api_call_logs/ });

    await rejection(client.listCallLogs('mf-a1', { duration: 7, pageSize: 30 }), 'malformed');
  });

  test('call_logs that is not an array is a malformed error', async () => {
    const { account, client } = setup();
    fake.addApp(account.accountId, { app_id: 'mf-b1', app_name: 'A' });
    fake.failNext(1, { status: 200, body: { call_logs: 'none', next_page_token: '' }, path: /api_call_logs/ });

    await rejection(client.listCallLogs('mf-b1', { duration: 7, pageSize: 30 }), 'malformed');
  });

  test('unreadable entries are skipped and counted, the rest of the page is kept', async () => {
    const { account, client } = setup();
    fake.addApp(account.accountId, { app_id: 'mf-c1', app_name: 'A' });
    const good = logEntry('mf-c1', 1, now - 1000);
    fake.failNext(1, {
      status: 200,
      path: /api_call_logs/,
      body: {
        page_size: 30,
        next_page_token: 'more',
        call_logs: [
          good,
          { ...good, trace_id: undefined },
          { ...good, trace_id: 'x2', time: 'yesterday' },
          { ...good, trace_id: 'x3', http_status: 'ok' },
          { ...good, trace_id: 'x4', method: '' },
          null,
          'entry',
          { ...good, trace_id: 'x5', time: now - 2000, http_status: '404', method: 'post' },
        ],
      },
    });

    const page = await client.listCallLogs('mf-c1', { duration: 7, pageSize: 30 });

    // Only what has no readable time is unreadable: trace id, status and method are optional.
    expect(page.skipped).toBe(3);
    expect(page.nextPageToken).toBe('more');
    const { trace_id: _unused, ...noTrace } = good;
    const { http_status: _gone, ...noStatus } = good;
    const { method: _none, ...noMethod } = good;
    expect(page.entries).toEqual([
      good,
      noTrace,
      { ...noStatus, trace_id: 'x3' },
      { ...noMethod, trace_id: 'x4' },
      { ...good, trace_id: 'x5', time: String(now - 2000), http_status: 404, method: 'POST' },
    ]);
  });
});

describe('call logs', () => {
  test('pages through the requested duration newest first, with no entry twice', async () => {
    const { account, client, requestsSeen } = setup();
    fake.addApp(account.accountId, { app_id: 'cl-a1', app_name: 'A' });
    // 400 entries over the last 20 days, the newest few in the fake's future (not served yet).
    const from = now - 20 * DAY;
    const span = 20 * DAY + 6 * 3_600_000;
    fake.generateLogs('cl-a1', { count: 400, fromMs: from, toMs: from + span });
    // generateLogs spreads entries evenly from fromMs to toMs.
    const inWindow = Array.from({ length: 400 }, (_, i) => from + Math.floor((span * i) / 399)).filter(
      (t) => t >= now - 7 * DAY && t <= now,
    ).length;

    const seen: ZoomCallLog[] = [];
    let token = '';
    let pages = 0;
    do {
      const page = await client.listCallLogs('cl-a1', { duration: 7, pageSize: 50, ...(token ? { nextPageToken: token } : {}) });
      seen.push(...page.entries);
      token = page.nextPageToken;
      pages += 1;
    } while (token);

    expect(seen.length).toBeGreaterThan(100);
    expect(seen).toHaveLength(new Set(seen.map((e) => e.trace_id)).size);
    expect(seen.every((e) => Number(e.time) >= now - 7 * DAY && Number(e.time) <= now)).toBe(true);
    const times = seen.map((e) => Number(e.time));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(pages).toBe(Math.ceil(seen.length / 50));
    expect(fake.requests[0]).toBe('GET /marketplace/apps/cl-a1/api_call_logs?duration=7&page_size=50');
    expect(requestsSeen.every((r) => r.endpoint === 'GET /marketplace/apps/{appId}/api_call_logs' || r.endpoint === 'POST /oauth/token')).toBe(true);
    expect(seen.length).toBe(inWindow);
  });

  test('an expired next_page_token is a client error with code 301', async () => {
    const { account, client } = setup();
    fake.addApp(account.accountId, { app_id: 'cl-b1', app_name: 'A' });
    fake.addLogs('cl-b1', Array.from({ length: 25 }, (_, i) => logEntry('cl-b1', i, now - i * 60_000)));
    const first = await client.listCallLogs('cl-b1', { duration: 7, pageSize: 10 });
    expect(first.entries).toHaveLength(10);
    expect(first.nextPageToken).not.toBe('');

    const start = now;
    try {
      now = start + 16 * 60_000;
      const err = await rejection(client.listCallLogs('cl-b1', { duration: 7, pageSize: 10, nextPageToken: first.nextPageToken }), 'client');
      expect(err).toMatchObject({ status: 400, code: 301, retryable: false });
    } finally {
      now = start;
    }
  });

  test('call logs of an app that does not exist are not_found with code 1401', async () => {
    const { client } = setup();

    const err = await rejection(client.listCallLogs('no-such-app', { duration: 30, pageSize: 100 }), 'not_found');

    expect(err).toMatchObject({ status: 404, code: 1401 });
  });

  test('a missing scope is a scope error naming it, after one token refetch', async () => {
    const { account, client } = setup();
    fake.addApp(account.accountId, { app_id: 'cl-c1', app_name: 'A' });
    fake.setScopes(account.accountId, ALL_SCOPES.filter((s) => s !== 'marketplace:read:list_api_logs:admin'));

    const err = await rejection(client.listCallLogs('cl-c1', { duration: 7, pageSize: 30 }), 'scope');

    expect(err.scopes).toEqual(['marketplace:read:list_api_logs:admin']);
    expect(err.explain()).toBe(`the Zoom app for account ${account.name} lacks scope marketplace:read:list_api_logs:admin`);
    expect(fake.tokenRequests).toBe(2);
  });

  test('options Zoom would refuse are refused without a request', async () => {
    const { client } = setup();

    await rejection(client.listCallLogs('x', { duration: 7, pageSize: 5 }), 'client');
    await rejection(client.listCallLogs('x', { duration: 3 as 7, pageSize: 30 }), 'client');

    expect(fake.requests).toHaveLength(0);
  });
});

describe('apps', () => {
  test('listApps follows next_page_token through every page of created apps', async () => {
    const { account, client } = setup();
    const other = setup();
    for (let i = 0; i < 650; i += 1) fake.addApp(account.accountId, { app_id: `la-${i}`, app_name: `App ${i}` });
    fake.addApp(other.account.accountId, { app_id: 'la-other', app_name: 'Not mine' });

    const apps = await client.listApps();

    expect(apps).toHaveLength(650);
    expect(new Set(apps.map((a) => a.app_id)).size).toBe(650);
    expect(apps.some((a) => a.app_id === 'la-other')).toBe(false);
    expect(fake.requests).toHaveLength(3);
    for (const line of fake.requests) expect(line).toMatch(/^GET \/marketplace\/apps\?type=account_created&page_size=300/);
  });

  test('getApp is null for an app Zoom does not know (404 / 1401), also after removal', async () => {
    const { account, client } = setup();
    fake.addApp(account.accountId, { app_id: 'ga-a1', app_name: 'A' });
    await expect(client.getApp('ga-a1')).resolves.toMatchObject({ app_id: 'ga-a1', app_name: 'A' });

    fake.removeApp('ga-a1');

    await expect(client.getApp('ga-a1')).resolves.toBeNull();
    await expect(client.getApp('never-existed')).resolves.toBeNull();
  });

  test('app ids are URL-encoded', async () => {
    const { client } = setup();

    await expect(client.getApp('a/b?c=1')).resolves.toBeNull();

    expect(fake.requests).toEqual(['GET /marketplace/apps/a%2Fb%3Fc%3D1']);
  });

  test('a 404 without code 1401 is not mistaken for a removed app', async () => {
    const { account, client } = setup();
    fake.addApp(account.accountId, { app_id: 'ga-b1', app_name: 'A' });
    fake.failNext(1, { status: 404, body: { code: 404, message: 'Not found.' } });

    const err = await rejection(client.getApp('ga-b1'), 'not_found');

    expect(err.explain()).toMatch(/is the API URL right\?/);
  });

  test('deleteApp: 204 is deleted, then 404/1401 is already_gone', async () => {
    const { account, client } = setup();
    fake.addApp(account.accountId, { app_id: 'del-a1', app_name: 'A' });

    await expect(client.deleteApp('del-a1')).resolves.toBe('deleted');
    expect(fake.hasApp('del-a1')).toBe(false);
    await expect(client.deleteApp('del-a1')).resolves.toBe('already_gone');

    expect(fake.deleted).toEqual(['del-a1', 'del-a1']);
  });

  test('deleteApp: 200 with an empty body is deleted', async () => {
    const { account, client } = setup();
    fake.addApp(account.accountId, { app_id: 'del-b1', app_name: 'A' });
    fake.setDeleteMode('ok_empty');

    await expect(client.deleteApp('del-b1')).resolves.toBe('deleted');
    expect(fake.hasApp('del-b1')).toBe(false);
  });

  test('deleteApp: 403 is a final client error and the app stays', async () => {
    const { account, client } = setup();
    fake.addApp(account.accountId, { app_id: 'del-c1', app_name: 'A' });
    fake.setDeleteMode('forbidden');

    const err = await rejection(client.deleteApp('del-c1'), 'client');

    expect(err).toMatchObject({ status: 403, retryable: false });
    expect(fake.hasApp('del-c1')).toBe(true);
    expect(fake.deleted).toEqual(['del-c1']);
  });

  test('deleteApp: a 404 without code 1401 is confirmed with Get: gone is already_gone, still there is not_found', async () => {
    const { account, client } = setup();
    fake.addApp(account.accountId, { app_id: 'del-d1', app_name: 'A' });
    fake.addApp(account.accountId, { app_id: 'del-d2', app_name: 'B' });
    fake.setDeleteNotFound('no_code');
    // The first DELETE removed the app but its answer was lost; the retry meets Zoom's bare 404.
    await expect(client.deleteApp('del-d1')).resolves.toBe('deleted');
    fake.resetCounters();

    await expect(client.deleteApp('del-d1')).resolves.toBe('already_gone');
    expect(fake.requests).toEqual(['DELETE /marketplace/apps/del-d1', 'GET /marketplace/apps/del-d1']);

    // A 404 for an app Get still finds (a wrong route, a proxy) is not taken for a removal.
    fake.failNext(1, { status: 404, body: { message: 'App not found' }, path: /^DELETE / });
    const err = await rejection(client.deleteApp('del-d2'), 'not_found');
    expect(err).toMatchObject({ status: 404, endpoint: 'DELETE /marketplace/apps/{appId}' });
    expect(fake.hasApp('del-d2')).toBe(true);
  });

  test('listApps: HTTP 400 code 1505 ("please try again") is retried like a 5xx', async () => {
    const { account, client } = setup();
    fake.addApp(account.accountId, { app_id: 'ie-a1', app_name: 'A' });
    fake.failNext(2, internalErrorTryAgain(/^GET \/marketplace\/apps\?/));

    await expect(client.listApps()).resolves.toEqual([expect.objectContaining({ app_id: 'ie-a1' })]);
    expect(fake.requests).toHaveLength(3);

    fake.failNext(3, internalErrorTryAgain(/^GET \/marketplace\/apps\?/));
    const err = await rejection(client.listApps(), 'server');
    expect(err).toMatchObject({ status: 400, code: 1505, retryable: true, attempts: 3 });
  });

  test('HTTP 400 code 4711 is a scope error naming the missing scope', async () => {
    const { client } = setup();
    fake.failNext(1, missingScope(['marketplace:read:list_apps:admin']));

    const err = await rejection(client.listApps(), 'scope');

    expect(err.scopes).toEqual(['marketplace:read:list_apps:admin']);
    expect(err.explain()).toContain('lacks scope marketplace:read:list_apps:admin');
  });

  test('the metrics hook sees endpoint templates, never concrete ids', async () => {
    const { account, client, requestsSeen } = setup();
    fake.addApp(account.accountId, { app_id: 'mh-a1', app_name: 'A' });

    await client.getApp('mh-a1');
    await client.deleteApp('mh-a1');

    expect(requestsSeen.map((r) => [r.endpoint, r.status])).toEqual([
      ['POST /oauth/token', 200],
      ['GET /marketplace/apps/{appId}', 200],
      ['DELETE /marketplace/apps/{appId}', 204],
    ]);
  });
});

test('no log line holds an access token or a client secret', () => {
  expect(logLines.length).toBeGreaterThan(10);
  const all = logLines.join('');
  for (const secret of [...clientSecrets, ...fake.issuedTokens()]) expect(all).not.toContain(secret);
});
