/**
 * The Home tab and the request modals over HTTP (issue 16 part A): the real app against the fake
 * Slack (which validates views and trigger ids as Slack does) and the real Redis and worker.
 * Every way in is attacked: the wrong person, a hostile app name, a forged private_metadata.
 */
import { Job } from 'bullmq';
import { HOME_JOB } from '../../src/capabilities/home/feature';
import { ACTION, HOME_ACTION, INPUT, REQUEST_ACTION, VIEW } from '../../src/platform/slack/ids';
import { modalMetadata } from '../../src/capabilities/approvals/views/requestModal';
import { visibleText } from '../helpers/boot';
import { homeOpenedEvent, postEvent, postInteraction, pressPayload, viewSubmission } from '../helpers/views';
import { click, command, DAY, PEOPLE, seedApp, startHarness, type Harness } from './approvals.harness';
import { until } from '../helpers/polls';

const HOSTILE = '<!channel> *Evil* <@U0BOB> & co';
let h: Harness;
/** The app's clock runs ahead of the wall clock by this much (the once-a-minute limit is tested by moving it). */
let offset = 0;

beforeAll(async () => {
  h = await startHarness('home-modals', { ADMINS: PEOPLE.alice }, { clock: () => Date.now() + offset });
});
afterAll(async () => {
  await h?.stop();
});

const homeText = (user: string) => visibleText(h.slack.homeView(user));
const publishesFor = (user: string) => h.slack.callsTo('views.publish').filter((c) => c.args.user_id === user).length;

async function openHome(user: string): Promise<string> {
  const before = publishesFor(user);
  const res = await postEvent(h.b.url, homeOpenedEvent(user));
  expect(res.status).toBe(200);
  await until(async () => publishesFor(user) > before, `a Home view for ${user}`);
  return homeText(user);
}

async function runRefresh(): Promise<number> {
  const job = await h.b.running.services.queues.actions.add(HOME_JOB, {});
  return until(async () => {
    const done = await Job.fromId(h.b.running.services.queues.actions, job.id!);
    return done?.finishedOn ? { n: (done.returnvalue as { republished: number }).republished } : undefined;
  }, 'the refresh job').then((r) => r.n);
}

/** The modal opened by the last views.open whose app name matches. */
function lastModal(): Record<string, unknown> {
  const views = [...h.slack.views.values()];
  return views[views.length - 1]!.view;
}

describe('the Home tab', () => {
  // Signed requests carry the wall clock; the guard allows 5 minutes against the app's clock.
  afterAll(() => {
    offset = 0;
  });

  it('answers Slack\'s url_verification challenge, signed', async () => {
    const res = await postEvent(h.b.url, { token: 't', challenge: 'c-123', type: 'url_verification' });
    expect(res.status).toBe(200);
    expect(res.body).toContain('c-123');
  });

  it('publishes a dashboard from stored data: what needs you, every app with its numbers, polling, mode; names escaped', async () => {
    const hostile = await seedApp(h.b, { name: HOSTILE });
    const soaking = await seedApp(h.b, { state: 'disabled', disabledAgoMs: 2 * DAY });
    await h.b.running.services.apps.update(soaking.appId, { owner: PEOPLE.alice });
    // The start-up poll is Zoom's only caller; once it is done, nothing else may reach Zoom.
    await until(async () => (await h.b.running.services.health.getAll(['default']))[0]?.lastSuccess, 'the first poll');
    const zoomCalls = h.zoom.requests.length;
    const text = await openHome(PEOPLE.alice);
    expect(h.zoom.requests.length).toBe(zoomCalls);
    expect(text).toContain('What needs you');
    expect(text).toContain('Waiting for your signature');
    expect(text).toMatch(/Apps you own\*\n• \*Legacy JWT/);
    expect(text).toContain('Calls 24 h / 7 d');
    expect(text).toMatch(/Soak clock\*\n2 d of 7 d/);
    expect(text).toMatch(/Actions mode: \*DRY-RUN\*/);
    expect(text).toContain('*Polling*');
    expect(text).toContain('&lt;!channel&gt; *Evil* &lt;@U0BOB&gt; &amp; co');
    expect(text).not.toContain('<!channel>');
    expect(text).toContain(hostile.appId);
  });

  it('a guest, or someone Slack does not know, gets a short "not for you" view', async () => {
    expect(await openHome(PEOPLE.guest)).toMatch(/This dashboard is for full members/);
    expect(homeText(PEOPLE.guest)).not.toContain('Tracked apps');
    expect(await openHome(PEOPLE.foreign)).toMatch(/for full members/);
  });

  it('ignores the Messages tab', async () => {
    const before = h.slack.callsTo('views.publish').length;
    await postEvent(h.b.url, homeOpenedEvent(PEOPLE.carol, 'messages'));
    await openHome(PEOPLE.dave); // a later event is handled, so the first one was looked at already
    expect(h.slack.callsTo('views.publish').filter((c) => c.args.user_id === PEOPLE.carol)).toHaveLength(0);
    expect(h.slack.callsTo('views.publish').length).toBe(before + 1);
  });

  it('shows a request waiting for an approver\'s signature with its card link and time left, and the requester\'s own', async () => {
    const app = await seedApp(h.b);
    const { id } = await command(h.b, `disable ${app.appId} calls moved to OAuth`);
    expect(id).toBeDefined();
    const bob = await openHome(PEOPLE.bob);
    expect(bob).toMatch(new RegExp(`\`${id}\` \\*Disable ${app.name}\\* by <@${PEOPLE.alice}> · 0 of 2 signed · expires in \\d+ h — <https://fake\\.slack/archives/[^|]+\\|open the card>`));
    // Mallory is a member but no approver: nothing waits for her signature.
    expect(await openHome(PEOPLE.mallory)).not.toContain(id!);
    expect(await openHome(PEOPLE.alice)).toMatch(new RegExp(`Your open requests\\*\\n• \`${id}\``));
  });

  it('pages the app table past Slack\'s 100 blocks instead of failing', async () => {
    const s = h.b.running.services;
    for (let i = 0; i < 130; i++) await s.apps.track({ appId: `bulk${i}`, account: 'default', name: `Bulk app ${i}`, trackedBy: 'test' }, s.clock());
    const first = await openHome(PEOPLE.carol);
    expect((h.slack.homeView(PEOPLE.carol)!.blocks as unknown[]).length).toBeLessThanOrEqual(100);
    expect(first).toMatch(/page 1 of 3/);
    const before = publishesFor(PEOPLE.carol);
    const res = await postInteraction(h.b.url, pressPayload({ user: PEOPLE.carol, actionId: HOME_ACTION.pageNext, value: '1', triggerId: h.slack.issueTrigger(), home: true }));
    expect(res.status).toBe(200);
    await until(async () => publishesFor(PEOPLE.carol) > before, 'page 2');
    expect(homeText(PEOPLE.carol)).toMatch(/page 2 of 3/);
    expect(h.slack.refused).toEqual([]);
    for (let i = 0; i < 130; i++) await s.apps.untrack(`bulk${i}`);
  });

  it('republishes recent visitors when what it shows changes, at most once a minute each', async () => {
    await openHome(PEOPLE.dave);
    expect(await runRefresh()).toBe(0); // nothing changed since
    const app = await seedApp(h.b, { name: 'Fresh arrival' });
    const before = publishesFor(PEOPLE.dave);
    expect(await runRefresh()).toBe(0); // changed, but Dave's view is less than a minute old
    expect(publishesFor(PEOPLE.dave)).toBe(before);
    offset += 61_000;
    expect(await runRefresh()).toBeGreaterThanOrEqual(1);
    expect(publishesFor(PEOPLE.dave)).toBe(before + 1);
    expect(homeText(PEOPLE.dave)).toContain('Fresh arrival');
    offset += 61_000;
    const again = publishesFor(PEOPLE.dave);
    expect(await runRefresh()).toBe(0); // nothing changed since the last publish
    expect(publishesFor(PEOPLE.dave)).toBe(again);
    await h.b.running.services.apps.untrack(app.appId);
  });

  it('a signature moves the request off the signer\'s dashboard at the next refresh', async () => {
    const app = await seedApp(h.b);
    const { id } = await command(h.b, `disable ${app.appId} moved to OAuth`);
    const toSign = () => {
      const blocks = (h.slack.homeView(PEOPLE.dave)?.blocks ?? []) as Array<{ text?: { text?: string } }>;
      return blocks.find((b) => b.text?.text?.startsWith('*Waiting for your signature*'))?.text?.text ?? '';
    };
    offset += 61_000;
    await runRefresh();
    expect(toSign()).toContain(id!);
    expect(await click(h.b, ACTION.approve, id!, PEOPLE.dave)).toMatch(/Signed \(1 of 2\)/);
    offset += 61_000;
    await runRefresh();
    expect(toSign()).not.toContain(id!);
  });

  it('stops a refresh run at Slack\'s 429 and leaves the rest for the next run', async () => {
    await seedApp(h.b, { name: 'Another change' });
    offset += 61_000;
    h.slack.fail('views.publish', { status: 429, retryAfter: 30 }, 1);
    const before = h.slack.callsTo('views.publish').length;
    expect(await runRefresh()).toBe(0);
    expect(h.slack.callsTo('views.publish').length).toBe(before + 1);
    expect(await runRefresh()).toBeGreaterThan(1);
  });
});

describe('the request modal', () => {
  it('`disable <app>` without a reason opens the form with the evidence, the app name escaped', async () => {
    const app = await seedApp(h.b, { name: HOSTILE });
    const res = await h.b.command(`disable ${app.appId}`, { user_id: PEOPLE.alice, trigger_id: h.slack.issueTrigger() });
    expect(visibleText(res.json)).toMatch(/I opened a form to disable/);
    const view = lastModal();
    expect(view.callback_id).toBe(VIEW.request);
    expect(JSON.parse(String(view.private_metadata))).toEqual({ action: 'disable', appId: app.appId });
    const text = visibleText(view);
    expect(text).toContain('Calls 24 h / 7 d');
    expect(text).toContain('Soak clock');
    expect(text).toContain('What will happen');
    expect(text).toContain('&lt;!channel&gt;');
    expect(text).not.toContain('<!channel>');
    const reason = (view.blocks as Array<Record<string, unknown>>).find((b) => b.block_id === INPUT.reason.block)!;
    expect(reason).toMatchObject({ type: 'input', element: { type: 'plain_text_input', multiline: true } });
    expect(reason.optional).toBeUndefined();
  });

  it('falls back to the usage line when the trigger is invalid or has expired', async () => {
    const app = await seedApp(h.b);
    const invalid = await h.b.command(`disable ${app.appId}`, { user_id: PEOPLE.alice, trigger_id: '1.2.forged' });
    expect(visibleText(invalid.json)).toMatch(/A reason is required/);
    const trigger = h.slack.issueTrigger();
    h.slack.expireTrigger(trigger);
    const expired = await h.b.command(`disable ${app.appId}`, { user_id: PEOPLE.alice, trigger_id: trigger });
    expect(visibleText(expired.json)).toMatch(/A reason is required/);
    expect(h.b.logs.some((l) => l.includes('expired_trigger_id'))).toBe(true);
  });

  it('a missing reason, then a wrong name for remove, are errors in the modal and open nothing', async () => {
    const app = await seedApp(h.b, { state: 'disabled' });
    const metadata = modalMetadata('remove', app.appId);
    const noReason = await postInteraction(h.b.url, viewSubmission({ user: PEOPLE.alice, metadata, reason: '  ', confirm: app.name }));
    expect(noReason.contentType).toMatch(/^application\/json/);
    expect(noReason.json).toEqual({ response_action: 'errors', errors: { [INPUT.reason.block]: expect.stringMatching(/A reason is required/) } });
    const wrongName = await postInteraction(h.b.url, viewSubmission({ user: PEOPLE.alice, metadata, reason: 'soaked', confirm: app.name.slice(0, -1) }));
    expect(wrongName.json).toEqual({ response_action: 'errors', errors: { [INPUT.confirm.block]: expect.stringMatching(/not the app's exact name/) } });
    expect((await h.store.listOpen()).filter((r) => r.appId === app.appId)).toEqual([]);
  });

  it('a valid submission opens the request as the command does, closes the modal and tells the requester where the card is', async () => {
    const app = await seedApp(h.b, { state: 'disabled' });
    const res = await postInteraction(h.b.url, viewSubmission({ user: PEOPLE.alice, metadata: modalMetadata('remove', app.appId), reason: 'soaked, silent', confirm: app.name }));
    expect(res.status).toBe(200);
    expect(res.json?.response_action).toBeUndefined();
    const open = (await h.store.listOpen()).filter((r) => r.appId === app.appId);
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ action: 'remove', requester: PEOPLE.alice, reason: 'soaked, silent' });
    const dm = await h.slack.waitFor('chat.postMessage', (c) => c.args.channel === PEOPLE.alice && String(c.args.text).includes(open[0]!.id));
    expect(String(dm.args.text)).toMatch(/is open: see <https:\/\/fake\.slack\/archives\/[^|]+\|the card in the approvals channel>/);
  });

  it('answers inside Slack\'s 3 s when opening the request is slow: "working on it", then the outcome in the modal', async () => {
    const app = await seedApp(h.b);
    // The card's post hangs (until the client's 10 s timeout): the request cannot be opened in time.
    h.slack.hold('chat.postMessage', 1, (args) => args.channel === 'C0APPROVALS');
    const res = await postInteraction(h.b.url, viewSubmission({ user: PEOPLE.alice, metadata: modalMetadata('disable', app.appId), reason: 'slow', viewId: 'V0SLOW' }));
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ response_action: 'update', view: { type: 'modal' } });
    expect(visibleText(res.json!.view as { blocks?: unknown })).toMatch(/Opening the request/);
    const update = await h.slack.waitFor('views.update', (c) => c.args.view_id === 'V0SLOW', 20_000);
    expect(visibleText(JSON.parse(String(update.args.view)) as { blocks?: unknown })).toMatch(/could not post the approval card/);
  }, 30_000);

  it('the command\'s refusals appear in the modal', async () => {
    const active = await seedApp(h.b);
    const res = await postInteraction(h.b.url, viewSubmission({ user: PEOPLE.alice, metadata: modalMetadata('enable', active.appId), reason: 'want it back' }));
    expect(res.json).toEqual({ response_action: 'errors', errors: { [INPUT.reason.block]: expect.stringMatching(/is active; enable needs an app that is disabled\. Nothing was opened/) } });
    // A second disable of an app with one open is the duplicate refusal.
    const app = await seedApp(h.b);
    await command(h.b, `disable ${app.appId} first`);
    const dup = await postInteraction(h.b.url, viewSubmission({ user: PEOPLE.alice, metadata: modalMetadata('disable', app.appId), reason: 'again' }));
    expect(String((dup.json?.errors as Record<string, string>)[INPUT.reason.block])).toMatch(/already open/);
  });

  it('refuses the wrong person at submission, whatever the modal said', async () => {
    const app = await seedApp(h.b);
    for (const user of [PEOPLE.guest, PEOPLE.gone, PEOPLE.foreign]) {
      const res = await postInteraction(h.b.url, viewSubmission({ user, metadata: modalMetadata('disable', app.appId), reason: 'let me' }));
      expect(res.json).toEqual({ response_action: 'errors', errors: { [INPUT.reason.block]: expect.stringMatching(/Only full members|does not know/) } });
    }
    expect((await h.store.listOpen()).filter((r) => r.appId === app.appId)).toEqual([]);
  });

  it('trusts private_metadata for nothing but the app and action: garbage, an untracked id, a foreign callback', async () => {
    for (const metadata of ['not json', JSON.stringify({ action: 'destroy', appId: 'x' }), modalMetadata('disable', 'never-tracked'), 'x'.repeat(4000)]) {
      const res = await postInteraction(h.b.url, viewSubmission({ user: PEOPLE.alice, metadata, reason: 'because' }));
      expect(res.status).toBe(200);
      expect(res.json?.response_action).toBe('errors');
    }
    // A remove whose metadata claims an app is re-read: the typed name must be the app's real one.
    const app = await seedApp(h.b, { state: 'disabled', name: 'Real name' });
    const res = await postInteraction(h.b.url, viewSubmission({ user: PEOPLE.alice, metadata: modalMetadata('remove', app.appId), reason: 'r', confirm: 'Some other name' }));
    expect(res.json?.response_action).toBe('errors');
    const other = await postInteraction(h.b.url, viewSubmission({ user: PEOPLE.alice, metadata: modalMetadata('disable', app.appId), reason: 'r', callbackId: 'someone_else' }));
    expect(other.status).toBe(200);
    expect((await h.store.listOpen()).filter((r) => r.appId === app.appId)).toEqual([]);
  });

  it('the app detail\'s Request button and the Home tab\'s menu open the form; a guest gets a "not for you" modal', async () => {
    const app = await seedApp(h.b, { state: 'disabled' });
    const detail = await h.b.command(`app ${app.appId}`, { user_id: PEOPLE.alice });
    const buttons = JSON.stringify(detail.json?.blocks);
    expect(buttons).toContain(REQUEST_ACTION.enable);
    expect(buttons).toContain(REQUEST_ACTION.remove);
    expect(buttons).not.toContain(REQUEST_ACTION.disable);

    const t1 = h.slack.issueTrigger();
    await postInteraction(h.b.url, pressPayload({ user: PEOPLE.alice, actionId: REQUEST_ACTION.enable, value: app.appId, triggerId: t1 }));
    const opened = await h.slack.waitFor('views.open', (c) => c.args.trigger_id === t1);
    expect(JSON.parse(String(opened.args.view)).private_metadata).toBe(modalMetadata('enable', app.appId));

    const t2 = h.slack.issueTrigger();
    await postInteraction(h.b.url, pressPayload({ user: PEOPLE.bob, actionId: HOME_ACTION.request, value: `remove:${app.appId}`, triggerId: t2, overflow: true, home: true }));
    const fromHome = await h.slack.waitFor('views.open', (c) => c.args.trigger_id === t2);
    const view = JSON.parse(String(fromHome.args.view)) as Record<string, unknown>;
    expect(view.private_metadata).toBe(modalMetadata('remove', app.appId));
    expect((view.blocks as Array<{ block_id?: string }>).some((b) => b.block_id === INPUT.confirm.block)).toBe(true);

    const t3 = h.slack.issueTrigger();
    await postInteraction(h.b.url, pressPayload({ user: PEOPLE.guest, actionId: REQUEST_ACTION.remove, value: app.appId, triggerId: t3 }));
    const refused = await h.slack.waitFor('views.open', (c) => c.args.trigger_id === t3);
    expect(visibleText(JSON.parse(String(refused.args.view)) as { blocks?: unknown })).toMatch(/Only full members/);
    expect(h.slack.refused).toEqual([]);
  });
});
