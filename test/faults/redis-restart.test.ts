/**
 * Redis restarts under a running app. The app is the real entry point (one ROLE=all child
 * process); its Redis is this test's own `redis-server` with AOF (`appendfsync always`) in a
 * temporary folder, stopped with SIGTERM and started again on the same port and folder:
 *  (a) in the middle of a 50,000-entry backfill served slowly: /readyz goes 503 then 200, the
 *      next manual poll resumes the read, and the counts end exact (nothing twice, nothing lost);
 *  (b) in the middle of a sign-off: the signature accepted before the restart survives, a click
 *      while Redis is down changes nothing and crashes nothing, the request completes after, and
 *      the audit log holds every entry and verifies.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { ACTION } from '../../src/platform/slack/ids';
import { createAuditLog } from '../../src/capabilities/audit/stores/audit';
import { createHealthStore } from '../../src/capabilities/evidence/stores/health';
import { createKeys, QUEUE_NAMES } from '../../src/platform/redis/keys';
import { createRequestStore } from '../../src/capabilities/approvals/stores/requests';
import { createUsageStore } from '../../src/capabilities/evidence/stores/usage';
import type { FakeSlack } from '../../dev/fakes/slackServer';
import type { FakeZoom } from '../../dev/fakes/zoomServer';
import { baseEnv } from '../helpers/env';
import { uniquePrefix } from '../helpers/redis';
import { DAY, harnessEnv, PEOPLE, startFakes } from '../integration/approvals.harness';
import { sleep, until } from '../helpers/polls';
import { httpStatus, spawnApp, type AppProcess } from './appProcess';
import { startTestRedis, type TestRedis } from './redisServer';
import { clickBody, commandOn, deliver, openRequestOn, seedDisabledApp, seedTrackedApp } from './slackTraffic';
import { startSlowZoom, type SlowZoom } from './slowZoom';

const BACKFILL = 50_000;
/** Each call-log page (100 entries) is held this long: the 500-page backfill takes 10 s or more. */
const PAGE_DELAY_MS = 20;
/**
 * How long Redis stays down (ms): several times the app's fail-fast budget for one command (its
 * connection gives up on a queued command after 2 reconnect attempts, about 1 to 4 s), so even
 * the clean-up after the failed fold (lock releases) fails, as in a real restart or failover.
 */
const OUTAGE_MS = 12_000;

let server: TestRedis;
let zoom: FakeZoom;
let slack: FakeSlack;
let slow: SlowZoom;
let app: AppProcess;
let redis: Redis;
const prefix = uniquePrefix('redis-restart');
const keys = createKeys(prefix);
let responses = 0;
const responseUrl = (what: string) => `${slack.responseUrlBase}restart-${what}-${++responses}`;

/** Resolves once `/readyz` answers `status` (0 never counts). */
function readyzBecomes(status: number, timeoutMs: number): Promise<true> {
  return until(async () => (await httpStatus(`${app.url}/readyz`, 1_500)) === status || undefined, `/readyz to answer ${status}`, timeoutMs);
}

/** Stops Redis, proves the app notices (503) and survives, waits `outageMs`, starts it again. */
async function restartRedis(duringOutage: () => Promise<void> = async () => undefined, outageMs = OUTAGE_MS): Promise<void> {
  await server.stop();
  const downAt = Date.now();
  await readyzBecomes(503, 10_000);
  expect(await httpStatus(`${app.url}/healthz`)).toBe(200);
  await duringOutage();
  await sleep(Math.max(0, outageMs - (Date.now() - downAt)));
  expect(app.exitedWith).toBeUndefined();
  await server.start();
  await readyzBecomes(200, 20_000);
}

beforeAll(async () => {
  server = await startTestRedis();
  ({ zoom, slack } = await startFakes());
  slow = await startSlowZoom(zoom.apiUrl, PAGE_DELAY_MS);
  redis = new Redis(server.url, { maxRetriesPerRequest: 5 });
  app = await spawnApp({
    ...baseEnv({ SLACK_API_URL: slack.apiUrl, REDIS_URL: server.url, REDIS_PREFIX: prefix }),
    ...harnessEnv(zoom, { ZOOM_API_URL: slow.apiUrl, ACTIONS_MODE: 'live', REQUIRED_APPROVALS: '2', ROLE: 'all', LOG_LEVEL: 'info' }),
  });
}, 90_000);

afterAll(async () => {
  const code = await app?.stop();
  redis?.disconnect();
  await slow?.close();
  await slack?.close();
  await zoom?.close();
  // The folder goes with the server: nothing of this test stays in any Redis.
  await server?.close();
  expect(code).toBe(0);
}, 60_000);

/** Entries per UTC day as the fake generates them: time_i = from + floor(span × i / (count − 1)). */
function expectedPerDay(count: number, fromMs: number, toMs: number): Map<string, number> {
  const out = new Map<string, number>();
  const span = toMs - fromMs;
  for (let i = 0; i < count; i++) {
    const day = new Date(fromMs + Math.floor((span * i) / (count - 1))).toISOString().slice(0, 10);
    out.set(day, (out.get(day) ?? 0) + 1);
  }
  return out;
}

it('a restart in the middle of a 50,000-entry backfill: 503 then 200, the next poll resumes, the counts end exact', async () => {
  const usage = createUsageStore({ redis, keys });
  // The scheduler's first poll runs at boot; a poll that started before the app was tracked would not read it.
  await until(async () => (await redis.exists(keys.k('pollrun', 'default'))) === 0 || undefined, 'the boot poll to end', 30_000);
  const tracked = await seedTrackedApp(redis, keys, zoom);
  const now = Date.now();
  const fromMs = now - 3 * DAY;
  const toMs = now - 60_000;
  zoom.generateLogs(tracked.appId, { count: BACKFILL, fromMs, toMs, statusMix: { 200: 8, 401: 1, 500: 1 } });

  expect(await commandOn(app.url, 'poll', responseUrl('poll'))).toMatch(/Polling 1 account now/);
  await until(async () => (await usage.summary(tracked.appId)).ingested >= 10_000 || undefined, 'the backfill to pass 10,000 entries', 60_000);
  const servedBefore = slow.pagesServed;

  const downAt = Date.now();
  await restartRedis();

  // The AOF kept what was folded before the stop; the read was interrupted, not finished.
  const afterRestart = await usage.summary(tracked.appId);
  expect(afterRestart.ingested).toBeGreaterThanOrEqual(10_000);
  expect(afterRestart.ingested).toBeLessThan(BACKFILL);
  expect(afterRestart.lastComplete).toBeUndefined();
  expect((await usage.readState(tracked.appId)).inProgress).toBeDefined();

  // The interrupted poll ends as a failure once Redis is back, and says so where `status` reads it.
  const health = createHealthStore({ redis, keys });
  await until(async () => ((await health.get('default')).lastErrorAt ?? 0) >= downAt || undefined, 'the interrupted poll to be recorded as failed', 30_000);
  const queue = new Queue(QUEUE_NAMES.poll, { connection: redis, prefix: keys.base });
  try {
    await until(async () => {
      const counts = await queue.getJobCounts('active', 'failed');
      return (counts.active === 0 && (counts.failed ?? 0) >= 1) || undefined;
    }, 'the interrupted poll job to end', 30_000);
  } finally {
    await queue.close();
  }

  // The next manual poll resumes the read where it stopped.
  const answer = await commandOn(app.url, 'poll', responseUrl('poll'));
  expect(answer).toMatch(/Polling 1 account now/);
  expect(answer).not.toMatch(/already/);
  const done = await until(
    async () => {
      const s = await usage.summary(tracked.appId);
      return s.lastComplete !== undefined ? s : undefined;
    },
    `the resumed poll to complete (answer to /zoomjwt poll: ${answer})`,
    60_000,
  );
  expect(done.ingested).toBe(BACKFILL);
  // Resumed, not restarted from the top: the pages read in all are about one backfill's worth.
  expect(slow.pagesServed).toBeLessThan(servedBefore + BACKFILL / 100 + 10);

  const perDay = expectedPerDay(BACKFILL, fromMs, toMs);
  const daily = await usage.daily(tracked.appId, [...perDay.keys()]);
  expect(Object.fromEntries(daily.map((d) => [d.day, d.total]))).toEqual(Object.fromEntries(perDay));
  expect(daily.reduce((sum, d) => sum + d.ok + d.failed, 0)).toBe(BACKFILL);

  // A further poll finds nothing new and counts nothing twice.
  expect(await commandOn(app.url, 'poll', responseUrl('poll'))).toMatch(/Polling 1 account now/);
  const lastComplete = done.lastComplete!;
  await until(async () => ((await usage.summary(tracked.appId)).lastComplete ?? 0) > lastComplete || undefined, 'the next poll to complete', 30_000);
  expect((await usage.summary(tracked.appId)).ingested).toBe(BACKFILL);
  expect(app.exitedWith).toBeUndefined();
}, 180_000);

it('a restart in the middle of a sign-off: the first signature survives, a click while Redis is down changes nothing, the request completes', async () => {
  slow.setPageDelay(0);
  const store = createRequestStore(redis, keys);
  const audit = createAuditLog({ redis, keys, clock: Date.now });
  const target = await seedDisabledApp(redis, keys, zoom);
  const id = await openRequestOn(app.url, `remove ${target.appId} soaked, callers moved`, responseUrl('open'));

  const bobUrl = responseUrl('bob');
  expect((await deliver(app.url, clickBody(ACTION.approve, id, PEOPLE.bob, bobUrl))).status).toBe(200);
  expect(String((await slack.waitForResponse((r) => bobUrl.endsWith(r.path), 10_000)).body.text)).toMatch(/Signed \(1 of 2\)/);
  const before = await store.get(id);
  expect(before?.signatures.map((s) => s.userId)).toEqual([PEOPLE.bob]);
  await until(async () => (await audit.latest(50, { requestId: id })).some((e) => e.type === 'request.signed') || undefined, 'the signature in the audit log');
  const auditBefore = (await audit.latest(10_000)).map((e) => e.id);

  const carolDownUrl = responseUrl('carol-down');
  await restartRedis(async () => {
    // Acknowledged in time and without a 5xx, though nothing can be stored now.
    const res = await deliver(app.url, clickBody(ACTION.approve, id, PEOPLE.carol, carolDownUrl), 10_000);
    expect(res.status).toBe(200);
    expect(res.ms).toBeLessThan(3_000);
    // The clicker is told, while Redis is still down, that the click may not have counted.
    await until(async () => slack.responses.some((r) => carolDownUrl.endsWith(r.path)) || undefined, 'an answer to the click made while Redis is down', 10_000);
    expect(app.exitedWith).toBeUndefined();
  }, 8_000);
  const downAnswer = slack.responses.find((r) => carolDownUrl.endsWith(r.path));
  expect(downAnswer?.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
  expect(String(downAnswer?.body.text)).toMatch(/could not finish handling your click.*if it does not show your click, it did not count/);

  // The signature accepted before the restart is still there; the click during the outage left no trace.
  const after = await store.get(id);
  expect({ status: after?.status, signers: after?.signatures.map((s) => s.userId) }).toEqual({ status: 'pending', signers: [PEOPLE.bob] });
  expect(after?.signatures).toEqual(before?.signatures);
  expect((await audit.latest(10_000)).map((e) => e.id)).toEqual(auditBefore);

  const carolUrl = responseUrl('carol');
  expect((await deliver(app.url, clickBody(ACTION.approve, id, PEOPLE.carol, carolUrl))).status).toBe(200);
  expect(String((await slack.waitForResponse((r) => carolUrl.endsWith(r.path), 10_000)).body.text)).toMatch(/completed the approvals/);
  const done = await until(async () => {
    const req = await store.get(id);
    return req?.status === 'executed' ? req : undefined;
  }, `request ${id} to be executed`, 30_000);
  expect(done.signatures.map((s) => s.userId)).toEqual([PEOPLE.bob, PEOPLE.carol]);
  await sleep(500);
  expect(zoom.deleted.filter((x) => x === target.appId)).toEqual([target.appId]);

  const types = (await audit.latest(100, { requestId: id })).map((e) => e.type).reverse();
  expect(types).toEqual(['request.opened', 'request.signed', 'request.signed', 'request.approved', 'execution.started', 'execution.succeeded']);
  const all = (await audit.latest(10_000)).map((e) => e.id);
  expect(all).toEqual(expect.arrayContaining(auditBefore));
  expect(await audit.verify()).toMatchObject({ ok: true });
  expect(app.exitedWith).toBeUndefined();
}, 120_000);
