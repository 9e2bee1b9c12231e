/**
 * Process crashes while an approved removal is carried out (live mode). A worker child process
 * running the real entry point is stopped at an exact step — by fake Zoom or fake Slack holding
 * an answer, or by a Redis proxy freezing the connection at one command — then SIGKILLed, and a
 * fresh worker started. BullMQ gives the job to the new worker once the dead one's lock expires
 * (30 s lock, 30 s stalled check, so each scenario waits 30–60 s; they run side by side).
 *
 * Whatever the step, the end is the same: Zoom removed the app exactly once (a second DELETE
 * answered 404 is recorded as "already gone"), the request is `executed` and the app `removed`,
 * the card shows the final state without buttons, the audit log holds one `execution.started`
 * and one `execution.succeeded` and verifies, and the requester got one "done" message.
 *
 * The last scenario kills a web process between the quorum click and queueing the execution;
 * the sweeper (run by an in-process worker whose clock is a minute ahead, so the approval counts
 * as old, instead of waiting a real minute) queues it again.
 */
import type { Redis } from 'ioredis';
import type { StoredRequest } from '../../src/capabilities/approvals/rules/approval';
import { JOB, jobIds } from '../../src/capabilities/approvals/jobs/names';
import { ACTION } from '../../src/platform/slack/ids';
import { createAuditLog } from '../../src/capabilities/audit/stores/audit';
import { type AuditEntry } from '../../src/capabilities/audit/chain';
import { createKeys } from '../../src/platform/redis/keys';
import { createRequestStore, type RequestStore } from '../../src/capabilities/approvals/stores/requests';
import type { Booted } from '../helpers/boot';
import { baseEnv, TEST_SECRETS } from '../helpers/env';
import { dropPrefix, openRedis, uniquePrefix } from '../helpers/redis';
import { actionBody, postSigned } from '../../dev/fakes/signing';
import type { FakeSlack } from '../../dev/fakes/slackServer';
import type { FakeZoom } from '../../dev/fakes/zoomServer';
import {
  bootOn, buttons, card, cardText, click, harnessEnv, openRequest, PEOPLE, seedApp, startFakes,
} from '../integration/approvals.harness';
import { sleep, until } from '../helpers/polls';
import { spawnApp, type AppProcess } from './appProcess';
import { startRedisProxy, type RedisProxy } from './redisProxy';

/** Long enough for a dead worker's lock to expire and the stalled check to hand the job over. */
const RECOVERY_MS = 110_000;
jest.setTimeout(200_000);

interface Scene {
  zoom: FakeZoom;
  slack: FakeSlack;
  prefix: string;
  web: Booted;
  store: RequestStore;
  redis: Redis;
  appId: string;
  /** Environment of a child process of this install. */
  env(extra?: Record<string, string>): Record<string, string | undefined>;
  cleanups: Array<() => Promise<void>>;
}

async function arrange(name: string): Promise<Scene> {
  const { zoom, slack } = await startFakes();
  const prefix = uniquePrefix(`crash-${name}`);
  const cleanups: Array<() => Promise<void>> = [
    () => slack.close(),
    () => zoom.close(),
    () => dropPrefix(prefix),
  ];
  const common = { REDIS_PREFIX: prefix, ACTIONS_MODE: 'live', LOG_LEVEL: 'info' };
  const web = await bootOn(`crash-${name}-web`, { zoom, slack }, { ...common, ROLE: 'web' });
  cleanups.unshift(() => web.stop());
  const redis = openRedis({ maxRetriesPerRequest: 2 });
  cleanups.unshift(async () => void redis.disconnect());
  const { appId } = await seedApp(web, { state: 'disabled' });
  return {
    zoom, slack, prefix, web, redis, appId, cleanups,
    store: createRequestStore(web.running.services.redis, web.running.services.keys),
    env: (extra = {}) => baseEnv({ ...harnessEnv(zoom, common), SLACK_API_URL: slack.apiUrl, ...extra }),
  };
}

async function tearDown(scene: Scene, children: AppProcess[]): Promise<void> {
  for (const child of children) await child.kill();
  for (const cleanup of scene.cleanups) await cleanup().catch(() => undefined);
}

async function auditOf(scene: Scene, id: string): Promise<AuditEntry[]> {
  return scene.web.running.services.audit.latest(200, { requestId: id });
}
const ofType = (entries: AuditEntry[], type: string) => entries.filter((e) => e.type === type);

/** Direct messages to the requester that say the request is done. */
function doneMessages(scene: Scene, id: string): number {
  return scene.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === PEOPLE.alice && String(c.args.text).includes(`\`${id}\` is done`)).length;
}

/** Waits for the final state a recovered run must reach, then checks it all. */
async function expectRemovedOnce(scene: Scene, id: string, result: 'deleted' | 'already_gone'): Promise<void> {
  await until(
    async () => {
      const req = await scene.store.get(id);
      const done = ofType(await auditOf(scene, id), 'execution.succeeded').length > 0;
      const final = req?.status === 'executed' && /\*Done\*/.test(cardText(await card(scene, id)));
      return done && final && doneMessages(scene, id) > 0;
    },
    'the recovered worker to finish the removal',
    RECOVERY_MS,
  );
  // Anything still running late (a duplicate job, a second aftermath) would land here.
  await sleep(1_000);
  const services = scene.web.running.services;

  expect(scene.zoom.removals).toEqual([scene.appId]);
  expect(scene.zoom.hasApp(scene.appId)).toBe(false);
  const req = (await scene.store.get(id)) as StoredRequest;
  expect(req.status).toBe('executed');
  expect(req.outcome).toMatch(result === 'deleted' ? /Removed from Zoom/ : /already gone/);
  expect((await services.apps.get(scene.appId))?.state).toBe('removed');

  const shown = await card(scene, id);
  expect(buttons(shown)).toEqual([]);
  expect(cardText(shown)).toMatch(/\*Done\*/);
  expect(cardText(shown)).toMatch(/no further action on this card/);

  const entries = await auditOf(scene, id);
  const succeeded = ofType(entries, 'execution.succeeded');
  expect(succeeded).toHaveLength(1);
  expect(succeeded[0]?.details?.result).toBe(result);
  expect(ofType(entries, 'execution.started')).toHaveLength(1);
  expect(ofType(entries, 'request.approved')).toHaveLength(1);
  expect(ofType(entries, 'execution.aborted')).toHaveLength(0);
  expect(ofType(entries, 'execution.failed')).toHaveLength(0);
  expect(await services.audit.verify()).toEqual(expect.objectContaining({ ok: true }));
  expect(doneMessages(scene, id)).toBe(1);

  const job = await services.queues.actions.getJob(jobIds.execute(id));
  expect(await job?.getState()).toBe('completed');
}

/** Opens a remove request and signs it twice (as Slack would deliver the clicks). */
async function approve(scene: Scene, id: string): Promise<void> {
  expect(await click(scene.web, ACTION.approve, id, PEOPLE.bob)).toMatch(/Signed \(1 of 2\)/);
  expect(await click(scene.web, ACTION.approve, id, PEOPLE.carol)).toMatch(/completed the approvals/);
}

/**
 * One worker-crash scenario: `arm` installs the fault once the request exists and returns what
 * resolves when the worker is stuck at the crash point; `atCrash` checks the state it died in.
 */
async function workerCrash(
  name: string,
  opts: {
    viaProxy?: boolean;
    /** `approved` resolves once the quorum click was answered (its own card redraw is done). */
    arm(scene: Scene, id: string, proxy: RedisProxy | undefined, approved: Promise<void>): Promise<void>;
    atCrash(scene: Scene, id: string): Promise<void>;
    result: 'deleted' | 'already_gone';
    /** How many DELETEs Zoom received in all (any outcome). */
    deleteCalls: number;
  },
): Promise<void> {
  const scene = await arrange(name);
  const children: AppProcess[] = [];
  try {
    let proxy: RedisProxy | undefined;
    if (opts.viaProxy) {
      proxy = await startRedisProxy();
      const p = proxy;
      scene.cleanups.unshift(() => p.close());
    }
    const first = await spawnApp(scene.env({ ROLE: 'worker', ...(proxy ? { REDIS_URL: proxy.url } : {}) }));
    children.push(first);
    const id = await openRequest(scene.web, `remove ${scene.appId} retiring the old integration`);
    let clicked = () => undefined as void;
    const approved = new Promise<void>((resolve) => (clicked = resolve));
    const stuck = opts.arm(scene, id, proxy, approved);
    stuck.catch(() => undefined);
    await approve(scene, id);
    clicked();
    await within(stuck, 30_000, `the worker to reach the ${name} point`);
    await opts.atCrash(scene, id);

    await first.kill();
    const second = await spawnApp(scene.env({ ROLE: 'worker' }));
    children.push(second);
    await expectRemovedOnce(scene, id, opts.result);
    expect(scene.zoom.deleted).toEqual(Array.from({ length: opts.deleteCalls }, () => scene.appId));
    // The recovered run said what it did: either it executed from scratch or finished an aftermath.
    expect(second.lines().some((l) => l.msg === 'job finished' && l.jobId === jobIds.execute(id))).toBe(true);
  } finally {
    await tearDown(scene, children);
  }
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const requestIs = async (scene: Scene, id: string, status: StoredRequest['status']) => expect((await scene.store.get(id))?.status).toBe(status);

it.concurrent('1. worker killed before the DELETE reached Zoom: the next worker removes the app once', async () => {
  await workerCrash('before-delete', {
    result: 'deleted',
    deleteCalls: 1,
    async arm(scene) {
      // The DELETE arrives and is never carried out or answered: Zoom did nothing (and does not
      // count it in `deleted`).
      scene.zoom.hangNext(1, /^DELETE \/marketplace\/apps\//);
      await until(async () => scene.zoom.requests.some((r) => r.startsWith('DELETE ')), 'the DELETE to arrive', 30_000);
    },
    async atCrash(scene, id) {
      await requestIs(scene, id, 'approved');
      expect(scene.zoom.removals).toEqual([]);
      expect(scene.zoom.hasApp(scene.appId)).toBe(true);
    },
  });
});

for (const pollSawItGone of [false, true]) {
  const title = pollSawItGone
    ? '2b. worker killed after Zoom removed the app, before it was recorded, and a poll saw it gone: recorded once as already gone'
    : '2. worker killed after Zoom removed the app, before it was recorded: the second DELETE (404) is recorded as already gone';
  it.concurrent(title, async () => {
    await workerCrash(pollSawItGone ? 'after-delete-poll' : 'after-delete', {
      result: 'already_gone',
      // Without the poll the re-run sends DELETE again (404); with it, a GET finds the app gone.
      deleteCalls: pollSawItGone ? 1 : 2,
      async arm(scene) {
        // Zoom removes the app but the answer never comes back.
        scene.zoom.holdDeleteResponses(1);
        await until(async () => scene.zoom.removals.length > 0, 'Zoom to remove the app', 30_000);
      },
      async atCrash(scene, id) {
        await requestIs(scene, id, 'approved');
        expect(scene.zoom.removals).toEqual([scene.appId]);
        expect(ofType(await auditOf(scene, id), 'execution.succeeded')).toHaveLength(0);
        if (pollSawItGone) {
          // Before the job runs again, a poll notices the app is gone (what pollAccount records).
          // The re-check must not take zoomjwt's own removal for someone else's and abort.
          const s = scene.web.running.services;
          await s.apps.update(scene.appId, { goneAt: s.clock() });
        }
      },
    });
  });
}

it.concurrent('3. worker killed after recording the removal, before its audit entry and card: both are written once', async () => {
  await workerCrash('after-record', {
    viaProxy: true,
    result: 'deleted',
    deleteCalls: 1,
    arm(scene, id, proxy) {
      // Zoom answers late, so the quorum click's own card redraw is over before the worker records.
      scene.zoom.holdDeleteResponses(1, 3_000);
      // The audit append of the success is the only command carrying `<id>:succeeded` (its dedupe key).
      return proxy!.freezeOn(`${id}:succeeded`);
    },
    async atCrash(scene, id) {
      await requestIs(scene, id, 'executed');
      expect((await scene.web.running.services.apps.get(scene.appId))?.state).toBe('removed');
      expect(ofType(await auditOf(scene, id), 'execution.succeeded')).toHaveLength(0);
      expect(cardText(await card(scene, id))).toMatch(/being carried out now/);
      expect(doneMessages(scene, id)).toBe(0);
    },
  });
});

it.concurrent('3b. worker killed after the audit entry, during the card update: the entry is not written twice', async () => {
  await workerCrash('during-card', {
    result: 'deleted',
    deleteCalls: 1,
    async arm(scene, _id, _proxy, approved) {
      // Zoom answers late, so the quorum click's own card redraw is over before the worker's.
      scene.zoom.holdDeleteResponses(1, 3_000);
      await approved;
      const isFinal = (args: Record<string, unknown>) => /\bDone\b/.test(String(args.text));
      scene.slack.hold('chat.update', 1, isFinal);
      await until(async () => scene.slack.callsTo('chat.update').some((c) => isFinal(c.args)), 'the worker to update the card', 30_000);
    },
    async atCrash(scene, id) {
      await requestIs(scene, id, 'executed');
      expect(ofType(await auditOf(scene, id), 'execution.succeeded')).toHaveLength(1);
      expect(cardText(await card(scene, id))).toMatch(/being carried out now/);
      expect(doneMessages(scene, id)).toBe(0);
    },
  });
});

it.concurrent('4. web process killed between the quorum click and queueing: the sweeper queues it and it runs once', async () => {
  const scene = await arrange('web-kill');
  const children: AppProcess[] = [];
  let worker: Booted | undefined;
  try {
    const proxy = await startRedisProxy();
    scene.cleanups.unshift(() => proxy.close());
    const web = await spawnApp(scene.env({ ROLE: 'web', REDIS_URL: proxy.url }));
    children.push(web);
    const id = await openRequest(scene.web, `remove ${scene.appId} retiring the old integration`);
    const signed = (user: string, path: string) =>
      postSigned(`${web.url}/slack/events`, actionBody({ action_id: ACTION.approve, value: id, user_id: user, response_url: `${scene.slack.responseUrlBase}${path}` }), {
        signingSecret: TEST_SECRETS.signingSecret,
      });
    expect((await signed(PEOPLE.bob, 'w1')).status).toBe(200);
    await scene.slack.waitForResponse((r) => r.path === '/respond/w1', 10_000);
    // Only BullMQ's add of the execution job names `exec-<id>`.
    const frozen = proxy.freezeOn(jobIds.execute(id));
    expect((await signed(PEOPLE.carol, 'w2')).status).toBe(200);
    await frozen;
    await requestIs(scene, id, 'approved');
    expect(await scene.web.running.services.queues.actions.getJob(jobIds.execute(id))).toBeUndefined();
    await web.kill();

    // A worker whose clock says the approval is a minute old; the sweep runs now instead of on
    // its 60 s schedule.
    let ahead = 0;
    worker = await bootOn('crash-web-kill-worker', { zoom: scene.zoom, slack: scene.slack }, { REDIS_PREFIX: scene.prefix, ACTIONS_MODE: 'live', ROLE: 'worker', LOG_LEVEL: 'info' }, {
      clock: () => Date.now() + ahead,
    });
    ahead = 61_000;
    await worker.running.services.queues.actions.add(JOB.sweep, {});
    await expectRemovedOnce(scene, id, 'deleted');
    const swept = worker.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.job === JOB.sweep && l.msg === 'job finished');
    expect(swept.length).toBeGreaterThan(0);
    // The clicker's own "completed the approvals" answer died with the web process.
    expect(scene.slack.responses.some((r) => r.path === '/respond/w2')).toBe(false);
  } finally {
    await worker?.stop();
    await tearDown(scene, children);
  }
});

it('appends an audit entry with a dedupe key once, even when two processes race to append it', async () => {
  const prefix = uniquePrefix('crash-dedupe');
  const a = openRedis();
  const b = openRedis();
  try {
    const keys = createKeys(prefix);
    const logs = [createAuditLog({ redis: a, keys, clock: Date.now }), createAuditLog({ redis: b, keys, clock: Date.now })];
    const input = { type: 'execution.succeeded' as const, actor: 'system', requestId: 'R1', summary: 'Removed X from Zoom (request R1)' };
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => logs[i % 2]!.append(input, { dedupeKey: 'R1:succeeded' })));
    await logs[0]!.append({ ...input, type: 'execution.started', summary: 'Executing R1' });
    expect(new Set(results.map((r) => r.id)).size).toBe(1);
    expect(ofType(await logs[0]!.latest(50), 'execution.succeeded')).toHaveLength(1);
    expect(await logs[1]!.verify()).toMatchObject({ ok: true, count: 2 });
  } finally {
    a.disconnect();
    b.disconnect();
    await dropPrefix(prefix);
  }
});
