/**
 * An approved live removal meets Zoom's Daily-limit pause (429, `X-RateLimit-Type: Daily-limit`,
 * `Retry-After` an ISO timestamp). The execution waits for the pause to end, with the card saying
 * so, and then removes the app: it does not spend its retries in half a minute and hand the
 * removal to a person. Real time: the shortest pause the client accepts is one minute.
 */
import { ACTION } from '../../src/platform/slack/ids';
import { dailyLimited } from '../../dev/fakes/zoomServer';
import {
  buttons, card, cardText, click, openRequest, PEOPLE, seedApp, startHarness, waitForStatus, type Harness,
} from '../integration/approvals.harness';
import { until } from '../helpers/polls';

jest.setTimeout(150_000);

let h: Harness;
beforeAll(async () => {
  h = await startHarness('pause', { ACTIONS_MODE: 'live', REQUIRED_APPROVALS: '2' });
});
afterAll(async () => {
  await h.stop();
});

test('a Daily-limit pause delays an approved removal until the pause ends, and the card says when', async () => {
  const app = await seedApp(h.b, { state: 'disabled' });
  const id = await openRequest(h.b, `remove ${app.appId} soaked, silent`);
  const pauseEnds = Date.now() + 61_000;
  h.zoom.failNext(1, dailyLimited(new Date(pauseEnds).toISOString(), /^DELETE /));

  await click(h.b, ACTION.approve, id, PEOPLE.bob);
  await click(h.b, ACTION.approve, id, PEOPLE.carol);

  // While paused: still approved, one DELETE sent (answered 429), the card names the wait.
  await until(async () => cardText(await card(h, id)).includes('Waiting for Zoom'), 'the card to show the pause', 15_000);
  const waiting = await h.store.get(id);
  expect(waiting).toMatchObject({ status: 'approved' });
  expect(Math.abs((waiting?.pausedUntil ?? 0) - pauseEnds)).toBeLessThan(1_000);
  expect(buttons(await card(h, id))).toEqual([]);
  const deletes = () => h.zoom.requests.filter((r) => r.startsWith(`DELETE /marketplace/apps/${app.appId}`));
  expect(deletes()).toHaveLength(1);

  // Well past the old ~30 s of retries, and past the pause: removed by zoomjwt, not by a person.
  const done = await until(async () => {
    const req = await h.store.get(id);
    return req && req.status !== 'approved' ? req : undefined;
  }, 'the execution after the pause', 110_000);
  expect(done.status).toBe('executed');
  expect(done.outcome).toMatch(/Removed from Zoom/);
  expect(h.zoom.removals).toEqual([app.appId]);
  expect(deletes()).toHaveLength(2);
  expect((await h.b.running.services.apps.get(app.appId))?.state).toBe('removed');
  await until(async () => cardText(await card(h, id)).includes('Removed from Zoom'), 'the executed card');
  expect(cardText(await card(h, id))).not.toContain('Waiting for Zoom');

  const types = (await h.b.running.services.audit.latest(100, { requestId: id })).map((e) => e.type);
  expect(types.filter((t) => t === 'execution.paused')).toHaveLength(1);
  expect(types).not.toContain('operator.step');
  expect(types).not.toContain('execution.failed');
  expect(types.filter((t) => t === 'execution.succeeded')).toHaveLength(1);
  await waitForStatus(h.store, id, 'executed');
});
