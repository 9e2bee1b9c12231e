/**
 * Reminders and announcements in the card's thread (issue 16): a pending request below quorum is
 * reminded at half its TTL and an hour before expiry, tagging only eligible approvers who have not
 * signed; each reminder is sent once per request and moment however many workers run it; a request
 * decided first gets none; every decision is announced in the thread once.
 *
 * The reminder jobs are BullMQ delayed jobs; instead of waiting hours, the test promotes them
 * (BullMQ's own "run it now"), which is the fake clock here: the job runs as it would at its time.
 */
import type { Booted } from '../helpers/boot';
import { ACTION } from '../../src/platform/slack/ids';
import { JOB, jobIds, reminderDelays, type ReminderMoment } from '../../src/capabilities/approvals/jobs/names';
import { createRequestStore, type RequestStore } from '../../src/capabilities/approvals/stores/requests';
import { uniquePrefix } from '../helpers/redis';
import { bootOn, card, click, CROWD, openRequest, PEOPLE, seedApp, startFakes, waitForStatus } from './approvals.harness';
import { until } from '../helpers/polls';
import type { FakeSlack } from '../../dev/fakes/slackServer';
import type { FakeZoom } from '../../dev/fakes/zoomServer';

const HOUR = 3_600_000;
/** Both processes' clock; moved only while no signed request is in flight (the 5-minute window). */
const clock = { offset: 0 };
const now = () => Date.now() + clock.offset;
const ENV = { APPROVAL_TTL: '3h', REQUIRED_APPROVALS: '2' };

/** Replies in the thread of request `id`'s card, oldest first. */
async function threadReplies(slack: FakeSlack, store: RequestStore, id: string): Promise<string[]> {
  const req = await store.get(id);
  return [...slack.messages.values()].filter((m) => m.thread_ts !== undefined && m.thread_ts === req?.ts && m.channel === req?.channel).map((m) => m.text);
}

/** Runs the delayed reminder job of `moment` now, and waits until it has finished. */
async function fire(b: Booted, id: string, moment: ReminderMoment): Promise<void> {
  const q = b.running.services.queues.actions;
  const job = await q.getJob(jobIds.remind(id, moment));
  if (!job) throw new Error(`no ${moment} reminder job for ${id}`);
  await job.promote();
  // removeOnComplete: the job is gone once a worker has run it.
  await until(async () => (await q.getJob(jobIds.remind(id, moment))) === undefined, `the ${moment} reminder of ${id} to run`);
}

describe('reminder moments', () => {
  it('half the TTL always, one hour before expiry only when that comes later', () => {
    expect(reminderDelays(24 * HOUR)).toEqual([{ moment: 'half', delayMs: 12 * HOUR }, { moment: 'hour', delayMs: 23 * HOUR }]);
    expect(reminderDelays(3 * HOUR)).toEqual([{ moment: 'half', delayMs: 1.5 * HOUR }, { moment: 'hour', delayMs: 2 * HOUR }]);
    // Two hours: both moments fall together, so one reminder.
    expect(reminderDelays(2 * HOUR)).toEqual([{ moment: 'half', delayMs: HOUR }]);
    expect(reminderDelays(30 * 60_000)).toEqual([{ moment: 'half', delayMs: 15 * 60_000 }]);
  });
});

describe('two worker processes sharing Redis', () => {
  let fakes: { zoom: FakeZoom; slack: FakeSlack };
  let one: Booted;
  let two: Booted;
  let store: RequestStore;
  beforeAll(async () => {
    fakes = await startFakes();
    const prefix = uniquePrefix('reminders');
    one = await bootOn('reminders-2proc', fakes, { ...ENV, REDIS_PREFIX: prefix }, { clock: now });
    two = await bootOn('reminders-2proc', fakes, { ...ENV, REDIS_PREFIX: prefix }, { clock: now });
    store = createRequestStore(one.running.services.redis, one.running.services.keys);
  });
  afterEach(() => {
    clock.offset = 0;
  });
  afterAll(async () => {
    await one?.stop();
    await two?.stop();
    await fakes.slack.close();
    await fakes.zoom.close();
  });

  it('one reminder per moment, tagging only eligible approvers who have not signed', async () => {
    const app = await seedApp(one, { name: '*Evil* <!channel> `app`' });
    const id = await openRequest(two, `disable ${app.appId} nobody calls it`);
    // Both moments are scheduled for a 3 h TTL.
    const q = one.running.services.queues.actions;
    expect(await q.getJob(jobIds.remind(id, 'half'))).toBeDefined();
    expect(await q.getJob(jobIds.remind(id, 'hour'))).toBeDefined();

    expect(await click(one, ACTION.approve, id, PEOPLE.bob)).toMatch(/Signed \(1 of 2\)/);
    await fire(one, id, 'half');
    // The same moment queued again from both processes (a stalled job re-run, a duplicate add):
    // the claim in Redis lets none of them send a second reminder.
    const dup = (b: Booted, n: number) => b.running.services.queues.actions.add(JOB.remind, { requestId: id, moment: 'half' }, { jobId: `dup-${n}-${id}` });
    await Promise.all([dup(one, 1), dup(two, 2), dup(one, 3), dup(two, 4)]);
    await until(async () => {
      const states = await Promise.all([1, 2, 3, 4].map(async (n) => (await q.getJob(`dup-${n}-${id}`))?.getState()));
      return states.every((st) => st === 'completed');
    }, 'the duplicate reminders to run');

    const half = (await threadReplies(fakes.slack, store, id)).filter((t) => /Halfway/.test(t));
    expect(half).toHaveLength(1);
    const text = half[0]!;
    expect(text).toContain('needs 1 more approval');
    // Eligible approvers who have not signed, and only them.
    for (const u of [PEOPLE.carol, PEOPLE.dave, ...CROWD]) expect(text).toContain(`<@${u}>`);
    for (const u of [PEOPLE.bob, PEOPLE.alice, PEOPLE.guest, PEOPLE.gone, PEOPLE.robot, PEOPLE.foreign]) expect(text).not.toContain(`<@${u}>`);
    // The hostile app name is inert.
    expect(text).not.toContain('<!channel>');
    expect(text).toContain('&lt;!channel&gt;');

    await fire(two, id, 'hour');
    const hour = (await threadReplies(fakes.slack, store, id)).filter((t) => /One hour left/.test(t));
    expect(hour).toHaveLength(1);
    expect(hour[0]).not.toContain(`<@${PEOPLE.bob}>`);
  });

  it('a request decided before its reminder gets none, and each decision is announced once', async () => {
    const app = await seedApp(one);
    const id = await openRequest(one, `disable ${app.appId} retired`);
    expect(await click(two, ACTION.reject, id, PEOPLE.carol)).toMatch(/Rejected/);
    await fire(one, id, 'half');
    await fire(two, id, 'hour');
    const replies = await threadReplies(fakes.slack, store, id);
    expect(replies.filter((t) => /Halfway|One hour left/.test(t))).toEqual([]);
    expect(replies.filter((t) => /was rejected by <@U0CAROL>/.test(t))).toHaveLength(1);
  });

  it('approved and executed are announced in the thread; expiry is announced and the requester told', async () => {
    const app = await seedApp(one);
    const id = await openRequest(one, `disable ${app.appId} retired`);
    await click(one, ACTION.approve, id, PEOPLE.bob);
    await click(two, ACTION.approve, id, PEOPLE.carol);
    // Dry run: the execution reports and finishes the request.
    const done = await until(async () => {
      const r = await store.get(id);
      return r && r.status !== 'approved' && r.status !== 'pending' ? r : undefined;
    }, 'the execution to finish');
    await until(async () => (await threadReplies(fakes.slack, store, id)).some((t) => /is approved/.test(t)), 'the approval announcement');
    const finalWord = done.status === 'awaiting_operator' ? undefined : /was carried out|failed|stopped/;
    if (finalWord) await until(async () => (await threadReplies(fakes.slack, store, id)).some((t) => finalWord.test(t)), 'the outcome announcement');
    const replies = await threadReplies(fakes.slack, store, id);
    expect(replies.filter((t) => /is approved \(<@U0BOB>, <@U0CAROL>\)/.test(t))).toHaveLength(1);
    expect(replies.filter((t) => /Halfway|One hour left/.test(t))).toEqual([]);

    const other = await seedApp(one);
    const expiring = await openRequest(two, `disable ${other.appId} retired`);
    // Past the deadline on both processes' clock, the expiry job runs now.
    clock.offset = 3 * HOUR + 60_000;
    const job = await one.running.services.queues.actions.getJob(jobIds.expire(expiring));
    await job!.promote();
    await waitForStatus(store, expiring, 'expired');
    await until(async () => (await threadReplies(fakes.slack, store, expiring)).some((t) => /expired with 0 of 2 approvals/.test(t)), 'the expiry announcement');
    await until(
      async () => fakes.slack.callsTo('chat.postMessage').some((c) => c.args.channel === PEOPLE.alice && String(c.args.text).includes(expiring) && /expired/.test(String(c.args.text))),
      'the requester to be told',
    );
    expect((await threadReplies(fakes.slack, store, expiring)).filter((t) => /expired/.test(t))).toHaveLength(1);
    expect((await card({ store, slack: fakes.slack }, expiring)).text).toBeDefined();
  });
});
