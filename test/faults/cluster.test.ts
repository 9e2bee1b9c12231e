/**
 * Scale-out: the sign-off flow and a poll on a local three-node Redis Cluster started by this
 * test. Everything of an install shares the `{prefix}` hash tag, so Lua scripts, MULTI blocks
 * and BullMQ queues work unchanged on a cluster.
 */
import { Redis } from 'ioredis';
import { ACTION } from '../../src/slack/ids';
import { generateLogsFor } from '../helpers/logsFixture';
import { startLocalCluster, type LocalCluster } from '../helpers/redisCluster';
import {
  ACCOUNT_ID, card, cardText, click, openRequest, PEOPLE, seedApp, startHarness, until, waitForStatus, type Harness,
} from '../integration/approvals.harness';

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
