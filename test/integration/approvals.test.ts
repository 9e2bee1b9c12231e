/**
 * Two-person sign-off end to end (SPEC §5), in the default DRY-RUN mode: signed slash commands
 * and button clicks into the real receiver, fake Slack and Zoom on loopback, real Redis, the
 * execution in the real BullMQ worker.
 */
import { pollApp } from '../../src/capabilities/evidence/jobs/pollApp';
import { createApprovalFlow } from '../../src/capabilities/approvals/flow';
import { ACTION } from '../../src/platform/slack/ids';
import {
  buttons,
  card,
  cardText,
  click,
  command,
  DAY,
  openRequest,
  PEOPLE,
  seedApp,
  startHarness,
  waitForStatus,
  type Harness,
} from './approvals.harness';
import { until } from '../helpers/polls';

let h: Harness;

beforeAll(async () => {
  h = await startHarness('approvals');
});
afterAll(async () => {
  await h.stop();
});

describe('who counts', () => {
  it('never counts the requester, a non-approver, a guest, a deleted user, a bot, another team, or a repeated click', async () => {
    const app = await seedApp(h.b);
    const id = await openRequest(h.b, `disable ${app.appId} callers moved to S2S`);

    expect(await click(h.b, ACTION.approve, id, PEOPLE.alice)).toMatch(/You opened this request/);
    expect(await click(h.b, ACTION.approve, id, PEOPLE.mallory)).toMatch(/not an approver/);
    expect(await click(h.b, ACTION.approve, id, PEOPLE.guest)).toMatch(/not an approver.*guest/);
    expect(await click(h.b, ACTION.approve, id, PEOPLE.gone)).toMatch(/not an approver.*deactivated/);
    expect(await click(h.b, ACTION.approve, id, PEOPLE.robot)).toMatch(/not an approver.*bots/);
    expect(await click(h.b, ACTION.approve, id, PEOPLE.foreign)).toMatch(/not an approver.*another workspace/);
    expect(await click(h.b, ACTION.approve, id, PEOPLE.bob)).toMatch(/Signed \(1 of 2\)/);
    expect(await click(h.b, ACTION.approve, id, PEOPLE.bob)).toMatch(/already signed/);

    const req = await h.store.get(id);
    expect(req?.status).toBe('pending');
    expect(req?.signatures.map((s) => s.userId)).toEqual([PEOPLE.bob]);
    const shown = cardText(await card(h, id));
    expect(shown).toMatch(/Signatures \(1 of 2\)/);
    expect(shown).toContain(`<@${PEOPLE.bob}> signed`);
    expect(buttons(await card(h, id))).toEqual([ACTION.approve, ACTION.reject, ACTION.cancel]);
    expect((await h.b.running.services.apps.get(app.appId))?.state).toBe('active');
  });

  it('answers a click on an unknown request ephemerally and changes nothing', async () => {
    expect(await click(h.b, ACTION.approve, 'RDOESNOTEXIST', PEOPLE.bob)).toMatch(/no longer exists/);
    expect(await click(h.b, ACTION.taskDone, 'RDOESNOTEXIST', PEOPLE.bob)).toMatch(/no longer exists/);
  });
});

describe('a disable', () => {
  it('is completed by two distinct approvers: operator step, Done, app disabled with the soak clock started at Done', async () => {
    const app = await seedApp(h.b);
    const opened = await command(h.b, `disable ${app.name} nothing calls it since May`);
    expect(opened.text).toMatch(/https:\/\/fake\.slack\/archives\/C0APPROVALS\/p\d+\|the card/);
    const id = opened.id!;
    const first = await card(h, id);
    expect(first.channel).toBe('C0APPROVALS');
    const shown = cardText(first);
    for (const part of [`<@${PEOPLE.alice}>`, 'nothing calls it since May', app.name, 'Calls 24 h / 7 d', 'Last call', 'Top endpoints', 'Soak clock', 'What will happen', 'Signatures (0 of 2)']) {
      expect(shown).toContain(part);
    }
    expect(shown).toMatch(/expires in (1 d|23 h)/);

    expect(await click(h.b, ACTION.approve, id, PEOPLE.bob)).toMatch(/Signed/);
    expect(await click(h.b, ACTION.approve, id, PEOPLE.carol)).toMatch(/completed the approvals/);
    await waitForStatus(h.store, id, 'awaiting_operator');
    const step = await until(async () => {
      const msg = await card(h, id);
      return buttons(msg).join() === [ACTION.taskDone, ACTION.cancel].join() ? msg : undefined;
    }, 'the operator step on the card');
    expect(cardText(step)).toMatch(/Manage app[\s\S]*Disable/);
    expect(cardText(step)).toContain('https://marketplace.zoom.us/user/build');
    expect(cardText(step)).toMatch(/DRY-RUN mode changes nothing here/);
    expect((await h.b.running.services.apps.get(app.appId))?.state).toBe('active');

    expect(await click(h.b, ACTION.approve, id, PEOPLE.dave)).toMatch(/waiting for the Marketplace step/);
    expect(await click(h.b, ACTION.taskDone, id, PEOPLE.mallory)).toMatch(/not an approver/);
    const before = h.b.running.services.clock();
    expect(await click(h.b, ACTION.taskDone, id, PEOPLE.dave)).toMatch(/Recorded.*disabled/);

    const done = await h.store.get(id);
    expect(done).toMatchObject({ status: 'executed', operatorDoneBy: PEOPLE.dave });
    const appNow = await h.b.running.services.apps.get(app.appId);
    expect(appNow).toMatchObject({ state: 'disabled', disabledBy: PEOPLE.dave });
    expect(appNow!.disabledAt).toBeGreaterThanOrEqual(before);
    expect(buttons(await card(h, id))).toEqual([]);
    expect(cardText(await card(h, id))).toContain(`Marked done by <@${PEOPLE.dave}>`);
    expect(await click(h.b, ACTION.taskDone, id, PEOPLE.dave)).toMatch(/already been carried out/);

    // The requester heard about it without looking.
    const dms = h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === PEOPLE.alice && String(c.args.text).includes(id));
    expect(dms.map((c) => String(c.args.text)).join('\n')).toMatch(/was approved[\s\S]*is done/);

    const trail = (await h.b.running.services.audit.latest(50, { requestId: id })).map((e) => e.type).reverse();
    // Mallory's refused Done is an attempt to change state: it is on the trail too (SPEC §5.5).
    expect(trail).toEqual(['request.opened', 'request.signed', 'request.signed', 'request.approved', 'execution.started', 'operator.step', 'access.refused', 'operator.done']);
  });

  it('stops at execution when the app changed after the request was opened, and says why on the card', async () => {
    const app = await seedApp(h.b);
    const id = await openRequest(h.b, `disable ${app.appId} retire it`);
    await h.b.running.services.apps.transition(app.appId, 'active', 'disabled', { disabledAt: Date.now(), disabledBy: 'someone' });
    await click(h.b, ACTION.approve, id, PEOPLE.bob);
    await click(h.b, ACTION.approve, id, PEOPLE.carol);
    const req = await waitForStatus(h.store, id, 'aborted');
    expect(req.outcome).toMatch(/now disabled/);
    await until(async () => cardText(await card(h, id)).includes('Stopped at execution'), 'the aborted card');
    expect(buttons(await card(h, id))).toEqual([]);
  });
});

describe('reject and cancel', () => {
  it('one Reject ends the request; later clicks get an ephemeral answer and the card has no live buttons', async () => {
    const app = await seedApp(h.b);
    const id = await openRequest(h.b, `disable ${app.appId} risky`);
    expect(await click(h.b, ACTION.reject, id, PEOPLE.mallory)).toMatch(/not an approver/);
    expect(await click(h.b, ACTION.reject, id, PEOPLE.alice)).toMatch(/use \*Cancel request\*/);
    expect(await click(h.b, ACTION.reject, id, PEOPLE.bob)).toMatch(/Rejected/);
    expect(await h.store.get(id)).toMatchObject({ status: 'rejected', decidedBy: PEOPLE.bob });
    expect(await click(h.b, ACTION.approve, id, PEOPLE.carol)).toMatch(/rejected by <@U0BOB>/);
    const msg = await card(h, id);
    expect(buttons(msg)).toEqual([]);
    expect(cardText(msg)).toMatch(/Rejected/);
    await h.slack.waitFor('chat.postMessage', (c) => c.args.channel === PEOPLE.alice && String(c.args.text).includes('rejected'));
  });

  it('only the requester can Cancel', async () => {
    const app = await seedApp(h.b);
    const id = await openRequest(h.b, `disable ${app.appId} changed my mind later`);
    expect(await click(h.b, ACTION.cancel, id, PEOPLE.bob)).toMatch(/Only the requester/);
    expect((await h.store.get(id))?.status).toBe('pending');
    expect(await click(h.b, ACTION.cancel, id, PEOPLE.alice)).toMatch(/Cancelled/);
    expect((await h.store.get(id))?.status).toBe('cancelled');
    // A finished request is kept 30 days (old cards still get its own answer), then expires.
    const ttl = await h.b.running.services.redis.pttl(h.b.running.services.keys.k('request', id));
    expect(ttl).toBeGreaterThan(29.9 * 86_400_000);
    expect(ttl).toBeLessThanOrEqual(30 * 86_400_000);
    expect(buttons(await card(h, id))).toEqual([]);
    expect(await click(h.b, ACTION.cancel, id, PEOPLE.alice)).toMatch(/cancelled by its requester/);
    // The lock is free again: a new identical request can be opened.
    await openRequest(h.b, `disable ${app.appId} second try`);
  });

  it('an operator step can be cancelled by the requester or an approver, not by anyone else; the lock is freed', async () => {
    const app = await seedApp(h.b);
    const id = await openRequest(h.b, `disable ${app.appId} will not happen after all`);
    await click(h.b, ACTION.approve, id, PEOPLE.bob);
    await click(h.b, ACTION.approve, id, PEOPLE.carol);
    await waitForStatus(h.store, id, 'awaiting_operator');
    await until(async () => buttons(await card(h, id)).join() === [ACTION.taskDone, ACTION.cancel].join(), 'Done and Cancel on the step');

    expect(await click(h.b, ACTION.cancel, id, PEOPLE.mallory)).toMatch(/not an approver.*Only the requester or an approver can cancel/);
    expect((await h.store.get(id))?.status).toBe('awaiting_operator');
    expect(await click(h.b, ACTION.cancel, id, PEOPLE.carol)).toMatch(/Cancelled\. Nothing was recorded/);

    expect(await h.store.get(id)).toMatchObject({ status: 'cancelled', decidedBy: PEOPLE.carol });
    const msg = await until(async () => {
      const m = await card(h, id);
      return buttons(m).length === 0 ? m : undefined;
    }, 'the cancelled card');
    expect(cardText(msg)).toContain(`Cancelled* by <@${PEOPLE.carol}>`);
    expect(cardText(msg)).toMatch(/nothing was recorded on the app/);
    const trail = (await h.b.running.services.audit.latest(50, { requestId: id })).map((e) => e.type);
    expect(trail[0]).toBe('request.cancelled');
    await h.slack.waitFor('chat.postMessage', (c) => c.args.channel === PEOPLE.alice && /was cancelled by <@U0CAROL>/.test(String(c.args.text)));
    expect(await click(h.b, ACTION.taskDone, id, PEOPLE.alice)).toMatch(/cancelled by <@U0CAROL>/);
    expect((await h.b.running.services.apps.get(app.appId))?.state).toBe('active');
    await openRequest(h.b, `disable ${app.appId} second try`);
  });
});

describe('refused up front', () => {
  it('refuses an identical request while one is open, naming it', async () => {
    const app = await seedApp(h.b);
    const id = await openRequest(h.b, `disable ${app.appId} first`);
    const again = await command(h.b, `disable ${app.appId} second`, PEOPLE.bob);
    expect(again.id).toBeUndefined();
    expect(again.text).toContain(`An identical request (\`${id}\`)`);
  });

  it('refuses the wrong state, a missing reason and an unknown app, opening nothing', async () => {
    const app = await seedApp(h.b);
    expect((await command(h.b, `enable ${app.appId} roll back`)).text).toMatch(/is active; `enable` needs an app that is disabled/);
    expect((await command(h.b, `disable ${app.appId}`)).text).toMatch(/A reason is required/);
    expect((await command(h.b, 'disable nosuchapp because')).text).toMatch(/No tracked app matches/);
    expect(await h.store.listOpen().then((all) => all.filter((r) => r.appId === app.appId))).toEqual([]);
  });

});

describe('approver pool at request time', () => {
  let small: Harness;
  beforeAll(async () => {
    // Two listed people and a user group on a free plan (no user groups).
    small = await startHarness('approvals-pool', { APPROVERS: 'U0BOB,U0CAROL,S0APPROVERS', REQUIRED_APPROVALS: '2' });
    small.slack.setUsergroup('S0APPROVERS', { error: 'plan_upgrade_required' });
  });
  afterAll(async () => {
    await small.stop();
  });

  it('refuses when too few approvers other than the requester exist, and says why groups do not count', async () => {
    const app = await seedApp(small.b);
    const refused = await command(small.b, `disable ${app.appId} only Carol could sign`, PEOPLE.bob);
    expect(refused.id).toBeUndefined();
    expect(refused.text).toMatch(/needs 2 approvers other than you.*lists only 1.*user groups need a paid Slack plan/);
    const entry = (await small.b.running.services.audit.latest(1, { appId: app.appId }))[0];
    expect(entry).toMatchObject({ type: 'request.refused', actor: PEOPLE.bob });
    // Someone who is not an approver can still ask: Bob and Carol are two others.
    expect((await command(small.b, `disable ${app.appId} Bob and Carol can sign`, PEOPLE.alice)).id).toBeDefined();
  });

  it('tells a clicker outside APPROVERS that user groups need a paid plan', async () => {
    const app = await seedApp(small.b);
    const id = await openRequest(small.b, `disable ${app.appId} x`);
    expect(await click(small.b, ACTION.approve, id, PEOPLE.dave)).toMatch(/not an approver.*user groups need a paid Slack plan/);
    expect((await small.store.get(id))?.signatures).toEqual([]);
  });

  it('counts members of a listed user group at click time', async () => {
    small.slack.setUsergroup('S0APPROVERS', [PEOPLE.dave]);
    const app = await seedApp(small.b);
    const id = await openRequest(small.b, `disable ${app.appId} x`);
    expect(await click(small.b, ACTION.approve, id, PEOPLE.dave)).toMatch(/Signed \(1 of 2\)/);
    small.slack.setUsergroup('S0APPROVERS', { error: 'plan_upgrade_required' });
  });
});

describe('remove', () => {
  it('is refused before the soak period and allowed after it', async () => {
    const young = await seedApp(h.b, { state: 'disabled', disabledAgoMs: 2 * DAY });
    const refused = await command(h.b, `remove ${young.appId} gone for good`);
    expect(refused.id).toBeUndefined();
    expect(refused.text).toMatch(/disabled for 2d.*needs 7d of soak \((4d 23h|5d) to go\)/);

    const old = await seedApp(h.b, { state: 'disabled', disabledAgoMs: 8 * DAY });
    const opened = await command(h.b, `remove ${old.appId} gone for good`);
    expect(opened.id).toBeDefined();
  });

  it('accepts only the exact id or full name', async () => {
    const app = await seedApp(h.b, { state: 'disabled', name: 'Azure SCIM JWT' });
    const partial = await command(h.b, 'remove Azure SCIM nobody uses it');
    expect(partial.id).toBeUndefined();
    expect(partial.text).toMatch(/not the exact id or full name/);
    const exact = await command(h.b, 'remove Azure SCIM JWT nobody uses it');
    expect(exact.id).toBeDefined();
    expect((await h.store.get(exact.id!))?.appId).toBe(app.appId);
  });

  it('in dry-run sends no DELETE and says plainly what it would have done; Approve asks for a danger confirmation', async () => {
    const app = await seedApp(h.b, { state: 'disabled' });
    const id = await openRequest(h.b, `remove ${app.appId} soaked a week, no calls`);
    const pending = await card(h, id);
    const approve = (pending.blocks as Array<{ elements?: Array<{ action_id?: string; confirm?: { style?: string } }> }>)
      .flatMap((b) => b.elements ?? [])
      .find((e) => e.action_id === ACTION.approve);
    expect(approve?.confirm?.style).toBe('danger');
    expect(cardText(pending)).toMatch(/DRY-RUN mode/);

    await click(h.b, ACTION.approve, id, PEOPLE.bob);
    await click(h.b, ACTION.approve, id, PEOPLE.carol);
    const done = await waitForStatus(h.store, id, 'executed');
    expect(done.mode).toBe('dry-run');
    expect(h.zoom.deleted).toEqual([]);
    expect((await h.b.running.services.apps.get(app.appId))?.state).toBe('disabled');
    const shown = await until(async () => {
      const text = cardText(await card(h, id));
      return text.includes('DRY RUN') ? text : undefined;
    }, 'the dry-run card');
    expect(shown).toContain(`would have sent DELETE /marketplace/apps/${app.appId}`);
    expect(buttons(await card(h, id))).toEqual([]);
  });
});

describe('remove on degraded evidence', () => {
  /** A real poll of the app's call logs through the running services. */
  const readLogs = async (appId: string) => {
    const s = h.b.running.services;
    return pollApp({ zoom: s.zoom.get('default')!, usage: s.usage, clock: s.clock, log: s.log, appId });
  };

  it('is refused with a sentence until a clean read; status and app say why; the execution re-check refuses too', async () => {
    const app = await seedApp(h.b, { state: 'disabled', name: 'Degraded JWT' });
    // Zoom sends an entry the bot cannot read: the read completes, its evidence is degraded.
    h.zoom.setLogShape(app.appId, { unreadablePerPage: 1 });
    const degraded = await readLogs(app.appId);

    const refused = await command(h.b, `remove ${app.appId} soaked a week, no calls`);
    expect(refused.id).toBeUndefined();
    expect(refused.text).toMatch(/evidence for \*Degraded JWT\* is not complete: 1 entry Zoom sent could not be read and was dropped\. Removal is refused until a clean read/);
    expect(refused.text).toMatch(/Nothing was opened/);
    expect((await command(h.b, 'status')).text).toMatch(/Degraded JWT[\s\S]*Evidence degraded: 1 entry Zoom sent could not be read and was dropped/);
    expect((await command(h.b, `app ${app.appId}`)).text).toMatch(/Evidence degraded: 1 entry Zoom sent could not be read and was dropped/);
    expect(degraded).toMatchObject({ complete: true, unreadable: 1 });

    // Zoom answers cleanly again: the next read makes the evidence whole.
    h.zoom.setLogShape(app.appId, {});
    expect(await readLogs(app.appId)).toMatchObject({ complete: true, unreadable: 0 });
    expect((await command(h.b, `app ${app.appId}`)).text).toMatch(/Last complete read .*: clean\./);
    const id = await openRequest(h.b, `remove ${app.appId} soaked a week, no calls`);

    // Degraded again before the sign-off completes: execution stops at its re-check.
    h.zoom.setLogShape(app.appId, { order: 'oldest', listFuture: true });
    h.zoom.addLogs(app.appId, [{ time: String(h.b.running.services.clock() + 400 * DAY), http_status: 200, trace_id: 'from-the-future' }]);
    expect(await readLogs(app.appId)).toMatchObject({ complete: true, heldBack: 1 });
    await click(h.b, ACTION.approve, id, PEOPLE.bob);
    await click(h.b, ACTION.approve, id, PEOPLE.carol);
    const aborted = await waitForStatus(h.store, id, 'aborted');
    expect(JSON.stringify(aborted)).toMatch(/call-log evidence is not complete \(1 entry dated in the future was held back, not counted\)/);
    expect(h.zoom.deleted).not.toContain(app.appId);
  });
});

describe('commands', () => {
  it('`requests` lists open requests with signatures and time left; `audit <app>` shows the latest entries', async () => {
    const app = await seedApp(h.b, { name: 'Reporting JWT' });
    const id = await openRequest(h.b, `disable ${app.appId} reports moved`);
    await click(h.b, ACTION.approve, id, PEOPLE.bob);
    const listed = await command(h.b, 'requests');
    expect(listed.text).toMatch(new RegExp(`\`${id}\` \\*Disable Reporting JWT\\* by <@U0ALICE> — 1/2 signed \\(<@U0BOB>\\) · expires in (1 d|23 h)`));
    const audit = await command(h.b, 'audit Reporting JWT');
    expect(audit.text).toMatch(/`request.signed` · <@U0BOB> approved/);
    expect(audit.text).toMatch(/`request.opened`/);
  });
});

describe('card updates out of order', () => {
  it('a redraw from a stale state (a slow click handler landing last) ends with the latest state', async () => {
    const app = await seedApp(h.b);
    const id = await openRequest(h.b, `disable ${app.appId} race`);
    const stale = (await h.store.get(id))!;
    await click(h.b, ACTION.reject, id, PEOPLE.bob);
    await until(async () => cardText(await card(h, id)).includes('Rejected'), 'the rejected card');

    const flow = createApprovalFlow(h.b.running.services, h.store);
    await flow.refreshCard(stale);
    const msg = await card(h, id);
    expect(cardText(msg)).toMatch(/Rejected/);
    expect(buttons(msg)).toEqual([]);
  });
});

describe('logs', () => {
  it('logged nothing at error level through all of the flows above', () => {
    expect(h.b.logsAtLeast(50)).toEqual([]);
  });
});

describe('audit chain', () => {
  it('verifies after all of the flows above, and shows an edited entry', async () => {
    const s = h.b.running.services;
    expect(await s.audit.verify()).toMatchObject({ ok: true });
    const key = s.keys.k('audit');
    const rows = (await s.redis.xrange(key, '-', '+')) as Array<[string, string[]]>;
    expect(rows.length).toBeGreaterThan(10);
    const tmp = s.keys.k('audit', 'tampered');
    for (const [i, [id, fields]] of rows.entries()) {
      const copy = [...fields];
      if (i === 3) copy[copy.indexOf('summary') + 1] = 'nothing happened here';
      await s.redis.xadd(tmp, id, ...copy);
    }
    await s.redis.rename(tmp, key);
    const verdict = await s.audit.verify();
    expect(verdict.ok).toBe(false);
    expect(verdict.firstBadId).toBe(rows[3]![0]);
  });
});
