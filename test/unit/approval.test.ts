import { accountRefusal } from '../../src/kernel/people';
import {
  approverPool,
  canOpen,
  canSign,
  executionRecheck,
  lifecycleChange,
  operatorSteps,
  requiredApprovals,
  type GroupMembers,
  type OpenInput,
  type StoredRequest,
} from '../../src/capabilities/approvals/rules/approval';
import type { TrackedApp } from '../../src/capabilities/evidence/rules/app';

const NOW = Date.UTC(2024, 4, 10, 12, 0, 0);
const DAY = 86_400_000;

const app = (over: Partial<TrackedApp> = {}): TrackedApp => ({
  appId: 'appA', account: 'default', name: 'Legacy JWT', state: 'active', trackedAt: NOW - 30 * DAY, trackedBy: 'config', ...over,
});

const openInput = (over: Partial<OpenInput> = {}): OpenInput => ({
  action: 'disable', reason: 'moved to S2S', app: app(), requester: 'U0ALICE', now: NOW, soakPeriodMs: 7 * DAY, required: 2,
  pool: { known: 3, openEnded: false, notes: [] }, ...over,
});

const request = (over: Partial<StoredRequest> = {}): StoredRequest => ({
  id: 'R1', action: 'disable', appId: 'appA', account: 'default', appName: 'Legacy JWT', requester: 'U0ALICE', reason: 'x',
  status: 'pending', createdAt: NOW - 1000, expiresAt: NOW + DAY, required: 2, signatures: [], ...over,
});

describe('required approvals', () => {
  it('is the configured number for disable and remove, one for enable', () => {
    expect(requiredApprovals('disable', 2)).toBe(2);
    expect(requiredApprovals('remove', 3)).toBe(3);
    expect(requiredApprovals('enable', 3)).toBe(1);
  });
});

describe('approver pool', () => {
  it('never counts the requester, and counts people once across users and groups', () => {
    const groups = new Map<string, GroupMembers>([['S0OPS', { kind: 'members', users: ['U0BOB', 'U0ALICE', 'U0EVE'] }]]);
    expect(approverPool(['U0ALICE', 'U0BOB', 'S0OPS'], 'U0ALICE', groups)).toEqual({ known: 2, openEnded: false, notes: [] });
  });

  it('treats an unresolved group as possibly many, and a group that can never sign as none', () => {
    expect(approverPool(['U0ALICE', 'S0OPS'], 'U0ALICE', new Map([['S0OPS', { kind: 'unknown' }]])).openEnded).toBe(true);
    const plan = approverPool(['U0ALICE', 'S0OPS'], 'U0ALICE', new Map([['S0OPS', { kind: 'unavailable', why: 'user groups need a paid Slack plan' }]]));
    expect(plan).toEqual({ known: 0, openEnded: false, notes: ['user group S0OPS: user groups need a paid Slack plan'] });
  });
});

describe('opening a request', () => {
  it('accepts a disable of an active app with a reason and enough approvers', () => {
    expect(canOpen(openInput())).toEqual({ ok: true });
  });

  it('requires a reason', () => {
    expect(canOpen(openInput({ reason: '   ' }))).toMatchObject({ ok: false, code: 'no_reason' });
  });

  it.each([
    ['disable', 'disabled'],
    ['enable', 'active'],
    ['remove', 'active'],
    ['remove', 'removed'],
  ] as const)('refuses %s of an app that is %s', (action, state) => {
    expect(canOpen(openInput({ action, app: app({ state, disabledAt: NOW - 30 * DAY }) }))).toMatchObject({ ok: false, code: 'wrong_state' });
  });

  it('refuses when too few approvers other than the requester exist, and names the count', () => {
    const verdict = canOpen(openInput({ pool: { known: 1, openEnded: false, notes: [] } }));
    expect(verdict).toMatchObject({ ok: false, code: 'approvers' });
    expect(!verdict.ok && verdict.reason).toMatch(/needs 2 approvers other than you.*only 1/);
    expect(canOpen(openInput({ pool: { known: 1, openEnded: true, notes: [] } }))).toEqual({ ok: true });
    expect(canOpen(openInput({ action: 'enable', required: 1, app: app({ state: 'disabled' }), pool: { known: 1, openEnded: false, notes: [] } }))).toEqual({ ok: true });
  });

  describe('remove', () => {
    const disabled = (daysAgo: number) => app({ state: 'disabled', disabledAt: NOW - daysAgo * DAY });
    it('is refused before the soak period has passed, saying how long is left', () => {
      const verdict = canOpen(openInput({ action: 'remove', app: disabled(5) }));
      expect(verdict).toMatchObject({ ok: false, code: 'soaking' });
      expect(!verdict.ok && verdict.reason).toMatch(/2d to go/);
    });
    it('is allowed once the soak has passed with no success since the disable', () => {
      expect(canOpen(openInput({ action: 'remove', app: disabled(7), lastSuccess: NOW - 8 * DAY }))).toEqual({ ok: true });
    });
    it('is refused when a call succeeded after the disable', () => {
      expect(canOpen(openInput({ action: 'remove', app: disabled(8), lastSuccess: NOW - DAY }))).toMatchObject({ ok: false, code: 'calls_since_disable' });
    });
    it('is refused without a recorded disable time', () => {
      expect(canOpen(openInput({ action: 'remove', app: app({ state: 'disabled' }) }))).toMatchObject({ ok: false, code: 'soaking' });
    });
    it('with SOAK_PERIOD=0 needs only the disable', () => {
      expect(canOpen(openInput({ action: 'remove', soakPeriodMs: 0, app: disabled(0) }))).toEqual({ ok: true });
    });
  });
});

describe('whether a click counts', () => {
  it('counts a new approver on a pending request before its deadline', () => {
    expect(canSign(request(), 'U0BOB', NOW)).toEqual({ ok: true });
  });
  it.each([
    ['the requester', request(), 'U0ALICE', 'requester'],
    ['a second click', request({ signatures: [{ userId: 'U0BOB', at: NOW - 10 }] }), 'U0BOB', 'duplicate'],
    ['a decided request', request({ status: 'rejected', decidedBy: 'U0CAROL' }), 'U0BOB', 'closed'],
    ['an expired request', request({ expiresAt: NOW }), 'U0BOB', 'expired'],
    ['an unknown request', null, 'U0BOB', 'unknown'],
  ] as const)('does not count %s', (_name, req, user, code) => {
    expect(canSign(req, user, NOW)).toMatchObject({ ok: false, code });
  });
});

describe('account checks at click time', () => {
  it.each([
    [{ deleted: true }, /deactivated/],
    [{ is_bot: true }, /bots/],
    [{ is_restricted: true }, /guest/],
    [{ is_ultra_restricted: true }, /guest/],
    [{ team_id: 'T0OTHER' }, /another workspace/],
  ])('refuses %p', (user, why) => {
    expect(accountRefusal(user, { teamId: 'T0TEST' })).toMatch(why);
  });
  it('accepts a full member of the installed workspace', () => {
    expect(accountRefusal({ team_id: 'T0TEST' }, { teamId: 'T0TEST' })).toBeUndefined();
  });

  describe('on Enterprise Grid, where users.info reports the org or one fixed workspace as team_id', () => {
    const grid = (teamId: string, org: string, teams: string[] = []) => ({ team_id: teamId, enterprise_user: { enterprise_id: org, teams } });
    it('accepts a member of the installed workspace whose team_id names the org', () => {
      expect(accountRefusal(grid('E0ORG', 'E0ORG', ['T0TEST', 'T0SALES']), { teamId: 'T0TEST', enterpriseId: 'E0ORG' })).toBeUndefined();
    });
    it('accepts a member of the org when the app is installed org-wide, whatever team_id says', () => {
      expect(accountRefusal(grid('T0SALES', 'E0ORG', ['T0SALES']), { teamId: 'T0TEST', enterpriseId: 'E0ORG' })).toBeUndefined();
    });
    it('refuses someone from another org, even with a team_id equal to ours', () => {
      expect(accountRefusal(grid('T0TEST', 'E0OTHER', ['T0TEST']), { teamId: 'T0TEST', enterpriseId: 'E0ORG' })).toMatch(/another Enterprise Grid org/);
    });
    it('refuses a Grid account when the installed workspace is not on Grid, whatever its team_id', () => {
      expect(accountRefusal(grid('T0TEST', 'E0ORG', ['T0TEST']), { teamId: 'T0TEST' })).toMatch(/another Enterprise Grid org/);
    });
    it('still refuses guests of the org', () => {
      expect(accountRefusal({ ...grid('T0TEST', 'E0ORG', ['T0TEST']), is_restricted: true }, { teamId: 'T0TEST', enterpriseId: 'E0ORG' })).toMatch(/guest/);
    });
  });
});

describe('execution re-check', () => {
  it('passes an app still in the approved state', () => {
    expect(executionRecheck({ action: 'remove' }, app({ state: 'disabled', disabledAt: NOW - 8 * DAY }), NOW - 9 * DAY)).toBeUndefined();
  });
  it('stops when the app was removed meanwhile, changed state, or calls resumed', () => {
    expect(executionRecheck({ action: 'remove' }, app({ state: 'removed' }), undefined)).toMatch(/removed meanwhile/);
    expect(executionRecheck({ action: 'remove' }, app({ state: 'disabled', goneAt: NOW }), undefined)).toMatch(/removed meanwhile/);
    expect(executionRecheck({ action: 'disable' }, app({ state: 'disabled' }), undefined)).toMatch(/now disabled/);
    expect(executionRecheck({ action: 'remove' }, app({ state: 'disabled', disabledAt: NOW - 8 * DAY }), NOW - 60_000)).toMatch(/calls succeeded again/);
    expect(executionRecheck({ action: 'enable' }, null, undefined)).toMatch(/no longer tracked/);
  });
  it('stops a removal while an enable request is open, or once the soak clock was restarted', () => {
    const disabled = app({ state: 'disabled', disabledAt: NOW - 8 * DAY });
    expect(executionRecheck({ action: 'remove' }, disabled, undefined, { enableRequestOpen: true })).toMatch(/enable request/);
    const evidence = { calls24h: 0, calls7d: 0, topEndpoints: [], soakPeriodMs: 7 * DAY, disabledAt: NOW - 20 * DAY };
    expect(executionRecheck({ action: 'remove', evidence }, disabled, undefined)).toMatch(/re-enabled and disabled again/);
    expect(executionRecheck({ action: 'remove', evidence: { ...evidence, disabledAt: NOW - 8 * DAY } }, disabled, undefined)).toBeUndefined();
  });
  it('stops a removal while the call-log evidence is degraded, and says why in words', () => {
    const disabled = app({ state: 'disabled', disabledAt: NOW - 8 * DAY });
    const clean = { lastComplete: NOW - 60_000, lastClean: NOW - 60_000, quality: { unordered: false, heldBack: 0, unreadable: 0, late: 2 } };
    expect(executionRecheck({ action: 'remove' }, disabled, undefined, { read: clean })).toBeUndefined();
    expect(executionRecheck({ action: 'remove' }, disabled, undefined, { read: {} })).toMatch(/not been read to the end yet/);
    expect(executionRecheck({ action: 'remove' }, disabled, undefined, { read: { ...clean, inProgressSince: NOW } })).toMatch(/has not reached the end of the listing yet/);
    expect(executionRecheck({ action: 'remove' }, disabled, undefined, { read: { ...clean, quality: { ...clean.quality, unordered: true } } })).toMatch(/out of order/);
    expect(executionRecheck({ action: 'remove' }, disabled, undefined, { read: { ...clean, quality: { ...clean.quality, heldBack: 2 } } })).toMatch(/2 entries dated in the future were held back/);
    expect(executionRecheck({ action: 'remove' }, disabled, undefined, { read: { ...clean, quality: { ...clean.quality, unreadable: 1 } } })).toMatch(/1 entry Zoom sent could not be read and was dropped/);
    // Other actions do not stake anything on the counts.
    expect(executionRecheck({ action: 'enable' }, disabled, undefined, { read: {} })).toBeUndefined();
  });
});

describe('lifecycle and operator steps', () => {
  it('moves disable active→disabled starting the soak clock at Done, enable back, remove to removed', () => {
    expect(lifecycleChange('disable', 'U0BOB', NOW)).toEqual({ from: 'active', to: 'disabled', fields: { disabledAt: NOW, disabledBy: 'U0BOB' } });
    expect(lifecycleChange('enable', 'U0BOB', NOW)).toMatchObject({ from: 'disabled', to: 'active' });
    expect(lifecycleChange('remove', 'U0BOB', NOW)).toMatchObject({ from: 'disabled', to: 'removed' });
  });
  it('spells the exact Marketplace clicks', () => {
    expect(operatorSteps('disable', 'Legacy JWT').join(' ')).toMatch(/Legacy JWT.*Manage app.*Disable/);
    expect(operatorSteps('enable', 'X').join(' ')).toMatch(/Manage app.*Enable/);
    expect(operatorSteps('remove', 'X').join(' ')).toMatch(/….*Remove App/);
  });
});
