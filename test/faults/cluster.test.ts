/**
 * Scale-out: the sign-off flow and a poll on a local three-node Redis Cluster started by this
 * test. Everything of an install shares the `{prefix}` hash tag, so Lua scripts, MULTI blocks
 * and BullMQ queues work unchanged on a cluster.
 */
import { Redis } from 'ioredis';
import { main as verifyMain } from '../../scripts/audit-verify';
import { ACTION } from '../../src/platform/slack/ids';
import { generateLogsFor } from '../helpers/logsFixture';
import { startLocalCluster, type LocalCluster } from '../helpers/redisCluster';
import {
  card, cardText, click, openRequest, PEOPLE, seedApp, startHarness, waitForStatus, type Harness,
} from '../integration/approvals.harness';
import { ACCOUNT_ID } from '../helpers/env';
import { until } from '../helpers/polls';

let cluster: LocalCluster;
let h: Harness;

beforeAll(async () => {
  cluster = await startLocalCluster();
  h = await startHarness('cluster', { REDIS_CLUSTER_NODES: cluster.nodes });
}, 60_000);
afterAll(async () => {
  await h?.stop();
  await cluster?.stop();
});

it('keeps every key of the install in one cluster slot', async () => {
  const slots = new Set<number>();
  for (const port of cluster.ports) {
    const node = new Redis(port, '127.0.0.1');
    const keys = await node.keys(`{${h.b.prefix}}*`);
    for (const key of keys.slice(0, 50)) slots.add(Number(await node.cluster('KEYSLOT', key)));
    node.disconnect();
  }
  expect(slots.size).toBe(1);
});

it('runs a poll and a two-person disable on the cluster', async () => {
  const s = h.b.running.services;
  const app = await seedApp(h.b, { zoom: h.zoom });
  generateLogsFor(h.zoom, app.appId, s.clock(), 500);
  const result = await s.queues.poll.add('poll', { account: 'default' });
  expect(result.id).toBeDefined();
  await until(async () => ((await s.usage.summary(app.appId)).ingested === 500 ? true : undefined), 'the poll to fold 500 entries', 20_000);

  const id = await openRequest(h.b, `disable ${app.appId} callers moved`);
  expect(await click(h.b, ACTION.approve, id, PEOPLE.bob)).toMatch(/Signed/);
  expect(await click(h.b, ACTION.approve, id, PEOPLE.carol)).toMatch(/completed the approvals/);
  await waitForStatus(h.store, id, 'awaiting_operator');
  await click(h.b, ACTION.taskDone, id, PEOPLE.alice);
  await until(async () => ((await s.apps.get(app.appId))?.state === 'disabled' ? true : undefined), 'the app to be disabled');
  expect(cardText(await card(h, id))).toMatch(/disabled|Done/i);
  expect((await s.audit.verify()).ok).toBe(true);
  expect(ACCOUNT_ID).toBe('acct-test');
});

it('verifies the audit log on the cluster with audit:verify, reading REDIS_CLUSTER_NODES', async () => {
  const s = h.b.running.services;
  await s.audit.append({ type: 'alert', actor: 'system', summary: 'an entry on the cluster' });
  const head = (await s.audit.head())!;
  const run = async (env: Record<string, string | undefined>, argv: string[] = []) => {
    const lines: string[] = [];
    const code = await verifyMain(env, { out: (l) => lines.push(l), err: (l) => lines.push(l) }, argv);
    return { code, text: lines.join('\n') };
  };
  const env = { REDIS_PREFIX: h.b.prefix, REDIS_CLUSTER_NODES: cluster.nodes };

  const ok = await run(env, ['--head', head.hash.slice(0, 12), '--count', String(head.count)]);
  expect(ok.text).toContain(`audit log OK: ${head.count} entries, head ${head.hash.slice(0, 12)}`);
  expect(ok.text).toContain(`cluster ${cluster.nodes}`);
  expect(ok.code).toBe(0);
  // The same prefix on the standalone Redis (REDIS_CLUSTER_NODES ignored, as before) holds no
  // install: that is an error, not "OK: 0 entries".
  expect(await run({ REDIS_PREFIX: h.b.prefix })).toMatchObject({ code: 2, text: expect.stringContaining('no zoomjwt install') });
  expect(await run({ ...env, REDIS_PREFIX: `${h.b.prefix}-other` })).toMatchObject({ code: 2, text: expect.stringContaining('no zoomjwt install') });
  // A tampered entry on the cluster is found there.
  const [first] = await s.audit.since(0, 1);
  const node = new Redis.Cluster(cluster.nodes.split(',').map((n) => ({ host: '127.0.0.1', port: Number(n.split(':')[1]) })));
  try {
    await node.xdel(s.keys.k('audit'), first!.id);
  } finally {
    node.disconnect();
  }
  expect(await run(env)).toMatchObject({ code: 1, text: expect.stringContaining('BROKEN') });
  // Unreachable nodes: exit 2, quickly, rather than retrying forever.
  expect(await run({ ...env, REDIS_CLUSTER_NODES: '127.0.0.1:1' })).toMatchObject({ code: 2, text: expect.stringContaining('could not run') });
});
