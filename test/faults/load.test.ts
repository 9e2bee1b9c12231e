/**
 * Load: 500 button clicks per second for 10 s (5,000 clicks) on 20 live remove requests, sent to
 * three app processes (the real entry point, ROLE=all) sharing one Redis prefix. Approvers,
 * non-approvers and exact repeats are mixed. Slack gives an app 3 s to acknowledge a click, so
 * every click must be answered HTTP 200 within 3 s; and whatever the crowd does, each request
 * is carried out exactly once: one DELETE in Zoom, one `execution.succeeded` in the audit log.
 *
 * The apps run as child processes so the ack times measured are theirs, not the test runner's
 * (which also runs the load generator and both fakes, and so only ever overstates them).
 */
import { Agent } from 'node:http';
import type { Redis } from 'ioredis';
import { ACTION } from '../../src/platform/slack/ids';
import { createAuditLog } from '../../src/capabilities/audit/stores/audit';
import { createKeys } from '../../src/platform/redis/keys';
import { createRequestStore } from '../../src/capabilities/approvals/stores/requests';
import type { FakeSlack } from '../../dev/fakes/slackServer';
import type { FakeZoom } from '../../dev/fakes/zoomServer';
import { baseEnv } from '../helpers/env';
import { dropPrefix, openRedis, uniquePrefix } from '../helpers/redis';
import { CROWD, harnessEnv, PEOPLE, startFakes } from '../integration/approvals.harness';
import { sleep, until } from '../helpers/polls';
import { spawnApp, type AppProcess } from './appProcess';
import { clickBody, deliverSigned, openRequestOn, quantile, seedDisabledApp, signRequest } from './slackTraffic';

const RATE_PER_S = 500;
const DURATION_S = 10;
const TOTAL = RATE_PER_S * DURATION_S;
const REQUESTS = 20;
const PROCESSES = 3;
/** Slack's deadline for acknowledging an interaction (ms). */
const SLACK_ACK_DEADLINE_MS = 3_000;
/** The generator stops sending after this long even if behind (bounded run), and fails the count. */
const SEND_WINDOW_MS = DURATION_S * 1_000 + 5_000;

const APPROVERS_OK: string[] = [PEOPLE.bob, PEOPLE.carol, PEOPLE.dave, ...CROWD];
/** Refused for different reasons: the requester, not listed, restricted, deactivated, a bot, another workspace. */
const NOT_APPROVERS: string[] = [PEOPLE.alice, PEOPLE.mallory, PEOPLE.guest, PEOPLE.gone, PEOPLE.robot, PEOPLE.foreign];

/** Deterministic PRNG (mulberry32), so a failing mix can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface PlannedClick {
  n: number;
  actionId: string;
  requestId: string;
  userId: string;
  kind: 'approver' | 'non-approver' | 'repeat';
}

/** 60% approvers' approvals, 25% non-approvers (approve or reject), 15% exact repeats of an earlier click. */
function planClicks(requestIds: string[], seed = 20_260_707): PlannedClick[] {
  const random = prng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const plan: PlannedClick[] = [];
  for (let n = 0; n < TOTAL; n++) {
    const roll = random();
    if (roll < 0.15 && plan.length > 0) {
      const earlier = pick(plan);
      plan.push({ ...earlier, n, kind: 'repeat' });
    } else if (roll < 0.4) {
      plan.push({ n, actionId: random() < 0.7 ? ACTION.approve : ACTION.reject, requestId: pick(requestIds), userId: pick(NOT_APPROVERS), kind: 'non-approver' });
    } else {
      plan.push({ n, actionId: ACTION.approve, requestId: pick(requestIds), userId: pick(APPROVERS_OK), kind: 'approver' });
    }
  }
  return plan;
}

let zoom: FakeZoom;
let slack: FakeSlack;
let redis: Redis;
let apps: AppProcess[] = [];
const prefix = uniquePrefix('load');
const keys = createKeys(prefix);

beforeAll(async () => {
  ({ zoom, slack } = await startFakes());
  redis = openRedis({ maxRetriesPerRequest: 3 });
  const env = {
    ...baseEnv({ SLACK_API_URL: slack.apiUrl, REDIS_PREFIX: prefix }),
    ...harnessEnv(zoom, { ACTIONS_MODE: 'live', REQUIRED_APPROVALS: '2', ROLE: 'all', LOG_LEVEL: 'warn' }),
  };
  apps = await Promise.all(Array.from({ length: PROCESSES }, () => spawnApp(env)));
}, 120_000);

afterAll(async () => {
  const codes = await Promise.all(apps.map((a) => a.stop()));
  redis?.disconnect();
  await dropPrefix(prefix);
  await slack?.close();
  await zoom?.close();
  // A clean SIGTERM shutdown after the load, in every process.
  expect(codes).toEqual(apps.map(() => 0));
}, 60_000);

it('acknowledges 5,000 clicks at 500/s from 3 processes within 3 s each, and carries out each of 20 removals exactly once', async () => {
  const seededApps: Array<{ appId: string; name: string }> = [];
  for (let i = 0; i < REQUESTS; i++) seededApps.push(await seedDisabledApp(redis, keys, zoom));
  const requestIds: string[] = [];
  for (const [i, app] of seededApps.entries()) {
    requestIds.push(await openRequestOn(apps[i % PROCESSES]!.url, `remove ${app.appId} soaked, no calls`, `${slack.responseUrlBase}open-${i}`));
  }
  const appOfRequest = new Map(requestIds.map((id, i) => [id, seededApps[i]!.appId]));

  // Every click's ephemeral answer arrives at its own response_url.
  const answers = new Map<number, string>();
  const unsubscribe = slack.subscribe((a) => {
    if (a.kind !== 'response') return;
    const n = /^\/respond\/load-(\d+)$/.exec(a.response.path)?.[1];
    if (n !== undefined) answers.set(Number(n), String(a.response.body.text ?? ''));
  });

  const plan = planClicks(requestIds);
  // Built and signed before the clock starts: the generator only sends while it runs.
  const signed = plan.map((click) => signRequest(clickBody(click.actionId, click.requestId, click.userId, `${slack.responseUrlBase}load-${click.n}`)));
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const results: Array<Promise<{ click: PlannedClick; status: number; ms: number; error?: string }>> = [];
  const started = performance.now();
  let sent = 0;
  // Paced by the wall clock: at time t, floor(t × rate) clicks have been sent; never a burst of backlog beyond that.
  while (sent < TOTAL) {
    const elapsed = performance.now() - started;
    if (elapsed > SEND_WINDOW_MS) break;
    const due = Math.min(TOTAL, Math.floor((elapsed * RATE_PER_S) / 1_000));
    for (; sent < due; sent++) {
      const click = plan[sent]!;
      const target = apps[click.n % PROCESSES]!;
      results.push(deliverSigned(agent, target.url, signed[sent]!, 10_000).then((r) => ({ click, status: r.status, ms: r.ms, ...(r.status === 0 ? { error: r.body } : {}) })));
    }
    await sleep(2);
  }
  const sendMs = performance.now() - started;
  const acks = await Promise.all(results);
  agent.destroy();
  const times = acks.map((a) => a.ms).sort((a, b) => a - b);
  const figures = {
    clicks: acks.length,
    sendSeconds: Number((sendMs / 1_000).toFixed(2)),
    ratePerSecond: Math.round(acks.length / (sendMs / 1_000)),
    ackP50ms: Math.round(quantile(times, 0.5)),
    ackP99ms: Math.round(quantile(times, 0.99)),
    ackMaxMs: Math.round(times[times.length - 1] ?? Number.NaN),
    statuses: Object.fromEntries([...new Set(acks.map((a) => a.status))].map((s) => [s, acks.filter((a) => a.status === s).length])),
  };
  console.log(`load figures: ${JSON.stringify(figures)}`);
  // Where in the run the slow acks were (the first seconds carry the live signatures and the executions).
  const bySecond: number[][] = Array.from({ length: DURATION_S }, () => []);
  for (const a of acks) bySecond[Math.min(DURATION_S - 1, Math.floor(a.click.n / RATE_PER_S))]!.push(a.ms);
  console.log(`ack p99 by second of the run (ms): ${bySecond.map((v) => Math.round(quantile(v.sort((x, y) => x - y), 0.99))).join(' ')}`);

  expect(acks).toHaveLength(TOTAL);
  // The pacing held: 5,000 clicks in about 10 s, not a slower trickle.
  expect(sendMs).toBeLessThan(DURATION_S * 1_000 + 1_000);
  expect(acks.filter((a) => a.status !== 200).map((a) => ({ n: a.click.n, status: a.status, error: a.error }))).toEqual([]);
  expect(acks.filter((a) => a.ms >= SLACK_ACK_DEADLINE_MS).map((a) => ({ n: a.click.n, ms: Math.round(a.ms) }))).toEqual([]);

  // Every click is also answered in words, once it has been handled.
  await until(async () => answers.size >= TOTAL, `answers to all ${TOTAL} clicks (have ${answers.size})`, 60_000);
  unsubscribe();

  const store = createRequestStore(redis, keys);
  for (const id of requestIds) {
    const done = await until(async () => {
      const req = await store.get(id);
      return req && req.status !== 'pending' && req.status !== 'approved' ? req : undefined;
    }, `request ${id} to be carried out`, 30_000);
    expect({ id, status: done.status, signatures: done.signatures.length }).toEqual({ id, status: 'executed', signatures: 2 });
    // Only real approvers signed; never the requester or a refused account.
    for (const sig of done.signatures) expect(APPROVERS_OK).toContain(sig.userId);
    const forRequest = [...answers].filter(([n]) => plan[n]!.requestId === id).map(([, text]) => text);
    expect(forRequest.filter((t) => /completed the approvals/.test(t))).toHaveLength(1);
    expect(forRequest.filter((t) => /Signed \(1 of 2\)/.test(t))).toHaveLength(1);
  }
  // No click of a non-approver counted (all 20 executed above with approvers' signatures), and none was told it did.
  const refusedAnswers = [...answers].filter(([n]) => NOT_APPROVERS.includes(plan[n]!.userId)).map(([, t]) => t);
  expect(refusedAnswers.filter((t) => /Signed \(|completed the approvals|^:no_entry: Rejected/.test(t))).toEqual([]);

  // Give a stray second execution (three workers on one queue) time to show up before counting.
  await sleep(1_000);
  expect([...zoom.deleted].sort()).toEqual([...appOfRequest.values()].sort());

  const audit = createAuditLog({ redis, keys, clock: Date.now });
  const entries = await audit.latest(10_000);
  for (const id of requestIds) {
    const types = entries.filter((e) => e.requestId === id).map((e) => e.type);
    expect({ id, succeeded: types.filter((t) => t === 'execution.succeeded').length, approved: types.filter((t) => t === 'request.approved').length, signed: types.filter((t) => t === 'request.signed').length })
      .toEqual({ id, succeeded: 1, approved: 1, signed: 2 });
  }
  expect(entries.filter((e) => e.type === 'execution.succeeded')).toHaveLength(REQUESTS);
  expect(await audit.verify()).toMatchObject({ ok: true });

  // Nothing crashed and nothing was logged at error level (a lost audit line would be).
  for (const app of apps) {
    expect(app.exitedWith).toBeUndefined();
    expect(app.lines().filter((l) => Number(l.level) >= 50).map((l) => l.msg)).toEqual([]);
  }
}, 180_000);
