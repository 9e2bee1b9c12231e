/**
 * The key registry holds at run time: after a sign-off that executes, a poll, the status and app
 * views, the Home tab and the digest, every Redis key of the install is `{prefix}:<namespace>…`
 * for a namespace declared in KEY_NAMESPACES, or a BullMQ queue's. (keys.k() only takes declared
 * namespaces; this catches a key spelled some other way, inside a Lua script for instance.)
 */
import { ACTION } from '../../src/platform/slack/ids';
import { KEY_NAMESPACES, QUEUE_NAMES } from '../../src/platform/redis/keys';
import { pollSettled, until } from '../helpers/polls';
import { homeOpenedEvent, postEvent } from '../helpers/views';
import { click, command, openRequest, PEOPLE, seedApp, startHarness, waitForStatus, type Harness } from './approvals.harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('key-registry', { ACTIONS_MODE: 'dry-run', REQUIRED_APPROVALS: '2' });
});
afterAll(async () => {
  await h.stop();
});

it('every key an install writes belongs to a declared namespace', async () => {
  const app = await seedApp(h.b);
  const id = await openRequest(h.b, `disable ${app.appId} callers moved to S2S`);
  await click(h.b, ACTION.approve, id, PEOPLE.bob);
  await click(h.b, ACTION.approve, id, PEOPLE.carol);
  await waitForStatus(h.store, id, 'awaiting_operator');
  await command(h.b, 'status');
  await command(h.b, `app ${app.appId}`);
  await postEvent(h.b.url, homeOpenedEvent(PEOPLE.bob));
  const s = h.b.running.services;
  const since = s.clock();
  await command(h.b, 'poll');
  await pollSettled(h.b, since);
  await command(h.b, 'digest');
  await until(() => [...h.slack.messages.values()].some((m) => m.channel === 'C0DIGEST'), 'the digest to be posted', 20_000);

  const base = `{${h.b.prefix}}:`;
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await s.redis.scan(cursor, 'MATCH', `${base}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');

  const declared = new Set<string>([...Object.keys(KEY_NAMESPACES), ...Object.values(QUEUE_NAMES)]);
  const namespaces = new Set(keys.map((k) => k.slice(base.length).split(':')[0]!));
  // The flow above reaches the capabilities' main namespaces (a check that the scan saw the install).
  for (const ns of ['app', 'tracked', 'request', 'audit', 'health', 'status', 'poll', 'actions']) expect(namespaces).toContain(ns);
  expect([...namespaces].filter((ns) => !declared.has(ns))).toEqual([]);
});

it('no declared namespace is a BullMQ queue name', () => {
  const queues = new Set<string>(Object.values(QUEUE_NAMES));
  expect(Object.keys(KEY_NAMESPACES).filter((ns) => queues.has(ns))).toEqual([]);
});
