/**
 * The fake Zoom itself, where later tests and benchmarks lean on it: a million call-log entries
 * held compactly and paged quickly, entries added out of order served newest first, page tokens
 * and bearer tokens behaving like Zoom's. Plain HTTP (fetch), no client code in the way.
 */
import { ALL_SCOPES, startFakeZoom, type FakeZoom } from '../../dev/fakes/zoomServer';

const DAY = 86_400_000;
let now = Date.parse('2026-03-02T12:00:00Z');
let fake: FakeZoom;
let bearer = '';

async function api(path: string, init: { method?: string; token?: string } = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${fake.apiUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: { Authorization: `Bearer ${init.token ?? bearer}` },
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function token(clientId: string, secret: string, accountId: string): Promise<{ status: number; body: any }> {
  const res = await fetch(fake.oauthUrl, {
    method: 'POST',
    headers: { Authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'account_credentials', account_id: accountId }).toString(),
  });
  return { status: res.status, body: await res.json() };
}

beforeAll(async () => {
  fake = await startFakeZoom({ clock: () => now });
  fake.addAccount({ accountId: 'acc1', clientId: 'cid1', clientSecret: 'csecret1' });
  fake.addAccount({ accountId: 'acc2', clientId: 'cid2', clientSecret: 'csecret2' });
  fake.addApp('acc1', { app_id: 'big', app_name: 'Big JWT' });
  fake.addApp('acc1', { app_id: 'mixed', app_name: 'Mixed' });
  fake.addApp('acc2', { app_id: 'theirs', app_name: 'Theirs' });
  bearer = (await token('cid1', 'csecret1', 'acc1')).body.access_token;
});

afterAll(() => fake.close());

test('issues 3600 s tokens for valid credentials only', async () => {
  const ok = await token('cid1', 'csecret1', 'acc1');
  expect(ok.status).toBe(200);
  expect(ok.body).toMatchObject({ token_type: 'bearer', expires_in: 3600, scope: ALL_SCOPES.join(' ') });
  expect(typeof ok.body.access_token).toBe('string');

  expect(await token('cid1', 'wrong', 'acc1')).toEqual({ status: 400, body: { reason: 'Invalid client_id or client_secret', error: 'invalid_client' } });
  expect((await token('cid1', 'csecret1', 'acc2')).status).toBe(400);
});

test("a token works for its own account's apps only, and stops working after an hour", async () => {
  const t = (await token('cid1', 'csecret1', 'acc1')).body.access_token as string;
  expect((await api('/marketplace/apps/big', { token: t })).status).toBe(200);
  expect(await api('/marketplace/apps/theirs', { token: t })).toEqual({ status: 401, body: { code: 124, message: 'Invalid access token.' } });

  const start = now;
  now = start + 3600 * 1000;
  try {
    expect((await api('/marketplace/apps/big', { token: t })).body.code).toBe(124);
  } finally {
    now = start;
  }
});

test('holds a million entries compactly and pages them quickly', async () => {
  const heapBefore = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const started = performance.now();
  const total = fake.generateLogs('big', { count: 1_000_000, fromMs: now - 30 * DAY, toMs: now, statusMix: { 200: 9, 401: 1 } });
  const generateMs = performance.now() - started;
  const heapAfter = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;

  expect(total).toBe(1_000_000);
  expect(generateMs).toBeLessThan(1_500);
  // Typed columns: about 15 bytes an entry; objects would take several hundred.
  expect(heapAfter - heapBefore).toBeLessThan(100 * 1024 * 1024);

  const t0 = performance.now();
  const first = await api('/marketplace/apps/big/api_call_logs?duration=30&page_size=100');
  const second = await api(`/marketplace/apps/big/api_call_logs?duration=30&page_size=100&next_page_token=${first.body.next_page_token}`);
  expect(performance.now() - t0).toBeLessThan(500);

  expect(first.body.call_logs).toHaveLength(100);
  expect(second.body.call_logs).toHaveLength(100);
  const times = [...first.body.call_logs, ...second.body.call_logs].map((e: { time: string }) => Number(e.time));
  expect(times).toEqual([...times].sort((a, b) => b - a));
  expect(times[0]).toBe(now);
  const traces = new Set([...first.body.call_logs, ...second.body.call_logs].map((e: { trace_id: string }) => e.trace_id));
  expect(traces.size).toBe(200);
  // An older entry arriving late forces a full re-sort of the million on the next read.
  fake.addLogs('big', [{ url_pattern: 'https://api.zoom.us/v2/users/late', time: String(now - 3 * DAY), http_status: 200, method: 'GET', trace_id: 'late' }]);
  const t1 = performance.now();
  const resorted = await api('/marketplace/apps/big/api_call_logs?duration=30&page_size=100');
  expect(performance.now() - t1).toBeLessThan(2_000);
  expect(resorted.body.call_logs).toEqual(first.body.call_logs);

  expect(first.body.call_logs[0]).toEqual({
    url_pattern: expect.stringMatching(/^https:\/\/api\.zoom\.us\/v2\//),
    time: String(now),
    http_status: expect.any(Number),
    method: expect.stringMatching(/^[A-Z]+$/),
    trace_id: expect.any(String),
  });
});

test('entries added out of order are served newest first, filtered by duration and the clock', async () => {
  const entry = (n: number, time: number) => ({ url_pattern: `https://api.zoom.us/v2/users/u${n}`, time: String(time), http_status: 200, method: 'GET', trace_id: `m${n}` });
  fake.addLogs('mixed', [entry(1, now - 2 * DAY), entry(2, now - 10 * DAY), entry(3, now - 1000)]);
  fake.addLogs('mixed', [entry(4, now - 5 * DAY), entry(5, now + 60_000), entry(6, now - 20 * DAY)]);

  const week = await api('/marketplace/apps/mixed/api_call_logs');
  expect(week.body.call_logs.map((e: { trace_id: string }) => e.trace_id)).toEqual(['m3', 'm1', 'm4']);
  const month = await api('/marketplace/apps/mixed/api_call_logs?duration=30');
  expect(month.body.call_logs.map((e: { trace_id: string }) => e.trace_id)).toEqual(['m3', 'm1', 'm4', 'm2', 'm6']);
});

test('validates page_size and duration, and expires page tokens after 15 minutes', async () => {
  expect(await api('/marketplace/apps/big/api_call_logs?page_size=5')).toEqual({ status: 400, body: { code: 300, message: 'Invalid page size' } });
  expect((await api('/marketplace/apps/big/api_call_logs?page_size=101')).status).toBe(400);
  expect((await api('/marketplace/apps/big/api_call_logs?duration=10')).body.code).toBe(300);

  const first = await api('/marketplace/apps/big/api_call_logs?page_size=10');
  const start = now;
  now = start + 15 * 60_000 + 1;
  try {
    const late = await api(`/marketplace/apps/big/api_call_logs?page_size=10&next_page_token=${first.body.next_page_token}`);
    expect(late).toEqual({ status: 400, body: { code: 301, message: 'Invalid next page token.' } });
  } finally {
    now = start;
  }
});

test('scripted answers apply to matching requests only, then the fake answers normally again', async () => {
  fake.failNext(1, { status: 503, body: { code: 503, message: 'Service unavailable' }, path: /api_call_logs/ });
  expect((await api('/marketplace/apps/big')).status).toBe(200);
  expect((await api('/marketplace/apps/big/api_call_logs')).status).toBe(503);
  expect((await api('/marketplace/apps/big/api_call_logs')).status).toBe(200);
});
