/**
 * One destructive step per app at a time (issue 12 §5): a removal never executes while an enable
 * of the same app is open, nor after the app was re-enabled, and an enable's Done never lands
 * between a removal's re-check and its DELETE.
 */
import { ACTION } from '../../src/platform/slack/ids';
import { appLeaseKey } from '../../src/platform/redis/lease';
import { click, command, DAY, openRequest, PEOPLE, seedApp, startHarness, waitForStatus, type Harness } from './approvals.harness';
import { until } from '../helpers/polls';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('approvals-serial', { ACTIONS_MODE: 'live', REQUIRED_APPROVALS: '2' });
});
afterAll(async () => {
  await h.stop();
});

const approveTwice = async (id: string) => {
  await click(h.b, ACTION.approve, id, PEOPLE.bob);
  await click(h.b, ACTION.approve, id, PEOPLE.carol);
};

it('a remove cannot be opened while an enable request for the app is open', async () => {
  const app = await seedApp(h.b, { state: 'disabled' });
  const enable = await openRequest(h.b, `enable ${app.appId} the payroll sync broke`, PEOPLE.dave);
  const answer = await command(h.b, `remove ${app.appId} soaked`);
  expect(answer.text).toMatch(new RegExp(`enable request \\(\`${enable}\`\\).*is open`));
  expect(answer.id).toBeUndefined();
});

it('an approved removal stops at execution when an enable request was opened meanwhile', async () => {
  const app = await seedApp(h.b, { state: 'disabled' });
  const remove = await openRequest(h.b, `remove ${app.appId} soaked and silent`);
  await openRequest(h.b, `enable ${app.appId} we still need it`, PEOPLE.dave);
  await approveTwice(remove);
  const done = await waitForStatus(h.store, remove, 'aborted');
  expect(done.outcome).toMatch(/an enable request for the app is open/);
  expect(h.zoom.deleted).not.toContain(app.appId);
  expect(h.zoom.hasApp(app.appId)).toBe(true);
});

it('an approved removal stops when the app was re-enabled and disabled again since it was opened', async () => {
  const app = await seedApp(h.b, { state: 'disabled', disabledAgoMs: 9 * DAY });
  const remove = await openRequest(h.b, `remove ${app.appId} soaked and silent`);
  const s = h.b.running.services;
  // Re-enabled and disabled again by hand (two Dones elsewhere): a fresh soak clock.
  await s.apps.transition(app.appId, 'disabled', 'active', { enabledAt: s.clock(), enabledBy: PEOPLE.dave });
  await s.apps.transition(app.appId, 'active', 'disabled', { disabledAt: s.clock(), disabledBy: PEOPLE.dave });
  await approveTwice(remove);
  const done = await waitForStatus(h.store, remove, 'aborted');
  expect(done.outcome).toMatch(/re-enabled and disabled again/);
  expect(h.zoom.deleted).not.toContain(app.appId);
});

it('an enable approved while the DELETE is in flight waits for it, then stops: the app is gone', async () => {
  const app = await seedApp(h.b, { state: 'disabled' });
  const remove = await openRequest(h.b, `remove ${app.appId} soaked and silent`);
  // The DELETE takes 1.5 s to answer: the window in which another step could land.
  h.zoom.holdDeleteResponses(1, 1_500);
  await approveTwice(remove);
  await until(async () => h.zoom.deleted.includes(app.appId), 'the DELETE to reach Zoom');
  const s = h.b.running.services;
  expect(await s.redis.exists(appLeaseKey(s.keys, app.appId))).toBe(1);

  const enable = await openRequest(h.b, `enable ${app.appId} actually we need it`, PEOPLE.dave);
  await click(h.b, ACTION.approve, enable, PEOPLE.bob);
  const stopped = await waitForStatus(h.store, enable, 'aborted');
  expect(stopped.outcome).toMatch(/removed meanwhile/);
  expect((await h.store.get(remove))?.status).toBe('executed');
  expect((await s.apps.get(app.appId))?.state).toBe('removed');
  expect(h.zoom.deleted.filter((x) => x === app.appId)).toHaveLength(1);
  // The status flips under the lease; the aftermath (audit, card, thread, requester) follows, then the lease goes.
  await until(async () => (await s.redis.exists(appLeaseKey(s.keys, app.appId))) === 0, 'the app lease to be released');
});

describe('Done holds the app lease', () => {
  async function enableAwaitingDone(): Promise<{ appId: string; id: string }> {
    const app = await seedApp(h.b, { state: 'disabled' });
    const id = await openRequest(h.b, `enable ${app.appId} needed again`, PEOPLE.dave);
    await click(h.b, ACTION.approve, id, PEOPLE.bob);
    await waitForStatus(h.store, id, 'awaiting_operator');
    // The execution holds the app's lease until its aftermath is done.
    const s = h.b.running.services;
    await until(async () => (await s.redis.exists(appLeaseKey(s.keys, app.appId))) === 0, 'the execution to release the app lease');
    return { appId: app.appId, id };
  }

  it('waits while another step holds it, then records', async () => {
    const { appId, id } = await enableAwaitingDone();
    const s = h.b.running.services;
    const key = appLeaseKey(s.keys, appId);
    // Another process's removal holds the lease for a moment.
    expect(await s.redis.set(key, 'other-holder', 'PX', 60_000, 'NX')).toBe('OK');
    let releasedAt = 0;
    const release = new Promise<void>((resolve) => setTimeout(() => void s.redis.del(key).then(() => { releasedAt = Date.now(); resolve(); }), 800));
    const answer = await click(h.b, ACTION.taskDone, id, PEOPLE.dave);
    await release;
    expect(answer).toMatch(/Recorded: .* re-enabled/);
    expect(releasedAt).toBeGreaterThan(0);
    expect((await h.store.get(id))?.operatorDoneAt).toBeGreaterThanOrEqual(releasedAt);
    expect((await s.apps.get(appId))?.state).toBe('active');
  });

  it('gives up after its wait with a sentence, recording nothing', async () => {
    const { appId, id } = await enableAwaitingDone();
    const s = h.b.running.services;
    const key = appLeaseKey(s.keys, appId);
    await s.redis.set(key, 'other-holder', 'PX', 60_000, 'NX');
    try {
      const answer = await click(h.b, ACTION.taskDone, id, PEOPLE.dave);
      expect(answer).toMatch(/Another step is changing this app right now, so nothing was recorded/);
      expect((await h.store.get(id))?.status).toBe('awaiting_operator');
      expect((await s.apps.get(appId))?.state).toBe('disabled');
      expect(await s.redis.get(key)).toBe('other-holder');
    } finally {
      await s.redis.del(key);
    }
  });
});
