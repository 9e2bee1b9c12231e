/**
 * Expiry (SPEC §5.2 rule 5) on a fake clock: the sweeper expires a request whose deadline passed
 * and rewrites its card; a click on a request past its deadline expires it once and is answered.
 * The clock moves 2 minutes at most, inside the receiver's 5-minute signature window.
 */
import { QueueEvents } from 'bullmq';
import { ACTION } from '../../src/platform/slack/ids';
import { JOB } from '../../src/capabilities/approvals/jobs/names';
import { buttons, card, cardText, click, openRequest, PEOPLE, seedApp, startHarness, type Harness } from './approvals.harness';
import { until } from '../helpers/polls';

const clock = { offset: 0 };
const now = () => Date.now() + clock.offset;
let h: Harness;
/** For `waitUntilFinished` on jobs the test adds. */
let events: QueueEvents;

beforeAll(async () => {
  h = await startHarness('approvals-expiry', { APPROVAL_TTL: '1m' }, { clock: now });
  events = new QueueEvents('actions', { connection: { host: '127.0.0.1', port: 6379 }, prefix: h.b.running.services.keys.base });
  await events.waitUntilReady();
});
afterAll(async () => {
  await events?.close();
  await h.stop();
});
beforeEach(() => {
  clock.offset = 0;
});

async function expectExpiredCard(id: string): Promise<void> {
  const msg = await until(async () => {
    const m = await card(h, id);
    return cardText(m).includes('Expired') ? m : undefined;
  }, 'the expired card');
  expect(buttons(msg)).toEqual([]);
  expect(cardText(msg)).toMatch(/no further action on this card/);
}

it('the sweeper expires a request past its deadline, rewrites the card, tells the requester, and frees the lock', async () => {
  const app = await seedApp(h.b);
  const id = await openRequest(h.b, `disable ${app.appId} will be forgotten`);
  await click(h.b, ACTION.approve, id, PEOPLE.bob);
  const queue = h.b.running.services.queues.actions;

  // Before the deadline the sweeper leaves it alone.
  await (await queue.add(JOB.sweep, {})).waitUntilFinished(events);
  expect((await h.store.get(id))?.status).toBe('pending');

  clock.offset = 61_000;
  await (await queue.add(JOB.sweep, {})).waitUntilFinished(events);
  expect(await h.store.get(id)).toMatchObject({ status: 'expired', decidedBy: 'system' });
  await expectExpiredCard(id);
  await h.slack.waitFor('chat.postMessage', (c) => c.args.channel === PEOPLE.alice && /expired/.test(String(c.args.text)));
  expect(await click(h.b, ACTION.approve, id, PEOPLE.carol)).toMatch(/has expired/);

  // The delayed per-request job arriving later finds nothing to do and records nothing twice.
  await (await queue.add(JOB.expire, { requestId: id })).waitUntilFinished(events);
  const expiries = (await h.b.running.services.audit.latest(20, { requestId: id })).filter((e) => e.type === 'request.expired');
  expect(expiries).toHaveLength(1);

  // An identical request can be opened again.
  await openRequest(h.b, `disable ${app.appId} second attempt`);
});

it('a click after the deadline expires the request once and is answered, without a signature', async () => {
  const app = await seedApp(h.b);
  const id = await openRequest(h.b, `disable ${app.appId} slow approvers`);
  clock.offset = 61_000;
  expect(await click(h.b, ACTION.approve, id, PEOPLE.bob)).toMatch(/has expired/);
  const req = await h.store.get(id);
  expect(req).toMatchObject({ status: 'expired', signatures: [] });
  await expectExpiredCard(id);
  expect(await click(h.b, ACTION.reject, id, PEOPLE.carol)).toMatch(/has expired/);
});

it('each request gets a delayed expiry job keyed by its id, and the sweeper runs every minute', async () => {
  const app = await seedApp(h.b);
  const id = await openRequest(h.b, `disable ${app.appId} check the timer`);
  const job = await h.b.running.services.queues.actions.getJob(`expire-${id}`);
  expect(job?.name).toBe(JOB.expire);
  expect(job?.opts.delay).toBeGreaterThanOrEqual(60_000);
  expect(await job?.isDelayed()).toBe(true);
  const scheduler = await h.b.running.services.queues.actions.getJobScheduler('approvals-sweep');
  expect(scheduler).toMatchObject({ name: JOB.sweep, every: 60_000 });
});


it('an operator step nobody finishes expires after its deadline: audited, card rewritten, requester told, lock freed', async () => {
  const app = await seedApp(h.b);
  const id = await openRequest(h.b, `disable ${app.appId} nobody will click Done`);
  await click(h.b, ACTION.approve, id, PEOPLE.bob);
  await click(h.b, ACTION.approve, id, PEOPLE.carol);
  const step = await until(async () => {
    const req = await h.store.get(id);
    return req?.status === 'awaiting_operator' ? req : undefined;
  }, 'the operator step');
  expect(step.operatorDeadline).toBeGreaterThan(Date.now() + 6 * 86_400_000);
  await until(async () => buttons(await card(h, id)).includes(ACTION.taskDone), 'the Done button');
  expect(cardText(await card(h, id))).toMatch(/Expires in (6|7) d .* unless someone presses Done/);
  const queue = h.b.running.services.queues.actions;

  // A day before the deadline the sweeper leaves it alone; a minute after, it expires it.
  clock.offset = 6 * 86_400_000;
  await (await queue.add(JOB.sweep, {})).waitUntilFinished(events);
  expect((await h.store.get(id))?.status).toBe('awaiting_operator');
  clock.offset = 7 * 86_400_000 + 60_000;
  await (await queue.add(JOB.sweep, {})).waitUntilFinished(events);
  await (await queue.add(JOB.sweep, {})).waitUntilFinished(events);
  clock.offset = 0;

  expect(await h.store.get(id)).toMatchObject({ status: 'expired', decidedBy: 'system', outcome: expect.stringMatching(/Nobody pressed Done/) });
  await expectExpiredCard(id);
  expect(cardText(await card(h, id))).toMatch(/nobody pressed Done before the deadline/);
  const trail = (await h.b.running.services.audit.latest(50, { requestId: id })).map((e) => e.type);
  expect(trail.filter((t) => t === 'operator.expired')).toHaveLength(1);
  await h.slack.waitFor('chat.postMessage', (c) => c.args.channel === PEOPLE.alice && /expired: nobody pressed/.test(String(c.args.text)));
  expect(await click(h.b, ACTION.taskDone, id, PEOPLE.alice)).toMatch(/has expired/);
  expect((await h.b.running.services.apps.get(app.appId))?.state).toBe('active');
  await openRequest(h.b, `disable ${app.appId} second attempt`);
});
