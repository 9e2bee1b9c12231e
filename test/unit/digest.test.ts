/**
 * The digest model and renderer (pure): what each section says, that silence never reads as
 * success, that any number of apps stays inside Slack's limits, and that the local date of a run
 * is right across daylight-saving transitions.
 */
import { CronExpressionParser } from 'cron-parser';
import { renderDigest } from '../../src/capabilities/digest/views/digest';
import { digestCounts, digestDate, previousDate, type DigestApp, type DigestModel } from '../../src/capabilities/digest/model';
import type { ApprovalRequest } from '../../src/capabilities/approvals/rules/request';
import { LIMITS, type SlackMessage } from '../../src/platform/slack/blocks';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2024, 5, 12, 9, 0, 0);

function app(over: Partial<DigestApp> & { appId: string }): DigestApp {
  return {
    name: over.appId,
    account: 'default',
    state: 'active',
    trackedAt: NOW - 60 * DAY,
    calls24h: 0,
    prev24h: 0,
    calls7d: 0,
    fails24h: 0,
    topEndpoints: [],
    lastRead: NOW - HOUR,
    ...over,
  };
}

function request(over: Partial<ApprovalRequest> & { id: string }): ApprovalRequest {
  return {
    action: 'disable',
    appId: 'a1',
    account: 'default',
    appName: 'Azure SCIM JWT',
    requester: 'U0ALICE',
    reason: 'migrated',
    status: 'pending',
    createdAt: NOW - 2 * HOUR,
    expiresAt: NOW + 5 * HOUR,
    required: 2,
    signatures: [],
    ...over,
  };
}

function model(over: Partial<DigestModel> = {}): DigestModel {
  return {
    apps: [],
    accounts: ['default'],
    health: [{ account: 'default', lastStart: NOW - 10 * 60_000, lastSuccess: NOW - 10 * 60_000, consecutiveFailures: 0 }],
    pending: [],
    operatorSteps: [],
    failedExecutions: [],
    requestsKnown: true,
    changes: [],
    candidates: 0,
    soakPeriodMs: 7 * DAY,
    pollEveryMs: 15 * 60_000,
    mode: 'dry-run',
    ...over,
  };
}

/** Every text a reader sees, joined. */
function visible(msg: SlackMessage): string {
  return (msg.blocks ?? [])
    .map((b) => {
      const block = b as { text?: { text: string }; elements?: Array<{ text?: string }> };
      return [block.text?.text ?? '', ...(block.elements ?? []).map((e) => e.text ?? '')].join('\n');
    })
    .join('\n');
}

/** The section of the digest under a title (up to the next divider). */
function sectionText(msg: SlackMessage, title: string): string {
  const blocks = msg.blocks ?? [];
  const start = blocks.findIndex((b) => (b as { text?: { text: string } }).text?.text.startsWith(`*${title}`));
  if (start < 0) throw new Error(`no section ${title}`);
  const out: string[] = [];
  for (let i = start; i < blocks.length && blocks[i]!.type !== 'divider'; i++) out.push((blocks[i] as { text?: { text: string } }).text?.text ?? '');
  return out.join('\n');
}

function expectWithinSlackLimits(msg: SlackMessage): void {
  expect(msg.blocks!.length).toBeLessThanOrEqual(LIMITS.blocks);
  expect(msg.text.length).toBeLessThanOrEqual(LIMITS.fallback);
  for (const block of msg.blocks!) {
    const b = block as { type: string; text?: { text: string }; elements?: Array<{ text?: string }> };
    if (b.type === 'section') expect(b.text!.text.length).toBeLessThanOrEqual(LIMITS.sectionText);
    if (b.type === 'header') expect(b.text!.text.length).toBeLessThanOrEqual(LIMITS.headerText);
    if (b.type === 'context') expect(b.elements!.length).toBeLessThanOrEqual(LIMITS.contextElements);
  }
}

describe('renderDigest', () => {
  it('counts apps by state and shows the 24 h calls with their trend and the change since yesterday', () => {
    const m = model({
      apps: [
        app({ appId: 'a', calls24h: 150, prev24h: 100, calls7d: 700 }),
        app({ appId: 'b', state: 'disabled', disabledAt: NOW - DAY }),
        app({ appId: 'c', state: 'removed' }),
      ],
      yesterday: { tracked: 3, active: 2, disabled: 0, removed: 1, calls24h: 90 },
    });
    expect(digestCounts(m)).toEqual({ tracked: 3, active: 1, disabled: 1, removed: 1, calls24h: 150 });
    const msg = renderDigest(m, NOW, 'UTC');
    const text = visible(msg);
    expect(text).toContain('zoomjwt digest — 2024-06-12');
    expect(text).toContain('*1* active (−1)');
    expect(text).toContain('*1* disabled/soaking (+1)');
    expect(text).toContain('*150* calls in the last 24 h (↑ 50% vs the 24 h before)');
    expect(msg.response_type).toBe('in_channel');
  });

  it('lists pending requests with who signed and the time left, soonest deadline first', () => {
    const msg = renderDigest(
      model({
        pending: [
          request({ id: 'r2', appName: 'Reports JWT', action: 'remove', expiresAt: NOW + 20 * HOUR }),
          request({ id: 'r1', signatures: [{ userId: 'U0BOB', at: NOW - HOUR }], expiresAt: NOW + 3 * HOUR }),
        ],
      }),
      NOW,
      'UTC',
    );
    const needs = sectionText(msg, 'Needs a person now');
    expect(needs).toContain('Needs a person now (2)');
    expect(needs).toMatch(/\*disable\* Azure SCIM JWT — asked by <@U0ALICE>, 1\/2 signed \(<@U0BOB>\), expires in 3 h/);
    expect(needs).toMatch(/\*remove\* Reports JWT — asked by <@U0ALICE>, 0\/2 signed, expires in 20 h/);
    expect(needs.indexOf('Azure SCIM JWT')).toBeLessThan(needs.indexOf('Reports JWT'));
  });

  it('offers silent apps for disabling and finished soaks for removal, but not apps with a pending request', () => {
    const msg = renderDigest(
      model({
        apps: [
          app({ appId: 'quiet', name: 'Old Reporting', lastCall: NOW - 10 * DAY }),
          app({ appId: 'never', name: 'Never Called' }),
          app({ appId: 'busy', name: 'Busy', lastCall: NOW - HOUR, calls7d: 5, calls24h: 1 }),
          app({ appId: 'soaked', name: 'Soaked', state: 'disabled', disabledAt: NOW - 8 * DAY, lastCall: NOW - 9 * DAY, lastSuccess: NOW - 9 * DAY }),
          app({ appId: 'soaking', name: 'Soaking', state: 'disabled', disabledAt: NOW - 2 * DAY }),
          app({ appId: 'asked', name: 'Asked', lastCall: NOW - 30 * DAY }),
        ],
        pending: [request({ id: 'r', appId: 'asked', appName: 'Asked' })],
      }),
      NOW,
      'UTC',
    );
    const needs = sectionText(msg, 'Needs a person now');
    expect(needs).toMatch(/Old Reporting is silent \(last call 10 d ago\) — could be disabled: `\/zoomjwt disable quiet <reason>`/);
    expect(needs).toMatch(/Never Called is silent \(no call in the logs\)/);
    expect(needs).toMatch(/Soaked soaked 8 d with no successful call — could be removed: `\/zoomjwt remove soaked <reason>`/);
    expect(needs).not.toContain('Busy');
    expect(needs).not.toContain('Soaking');
    expect(needs).not.toMatch(/Asked is silent/);
  });

  it('never treats silence as success: no "could be disabled" while polling fails, and the failure is a problem', () => {
    const msg = renderDigest(
      model({
        apps: [app({ appId: 'quiet', name: 'Quiet', lastCall: NOW - 20 * DAY })],
        health: [{ account: 'default', lastStart: NOW - 60_000, lastSuccess: NOW - 3 * DAY, lastError: 'Zoom refused the credentials', lastErrorKind: 'auth', consecutiveFailures: 7, failingSince: NOW - 2 * HOUR }],
      }),
      NOW,
      'UTC',
    );
    expect(sectionText(msg, 'Needs a person now')).not.toContain('Quiet');
    expect(sectionText(msg, 'Problems')).toMatch(/authentication failed since 2 h ago \(7 polls in a row\): Zoom refused the credentials/);
  });

  it('reports a never-polled account, a Daily-limit pause, calls after disable and a vanished app as problems', () => {
    const msg = renderDigest(
      model({
        accounts: ['main', 'sub'],
        health: [{ account: 'main', lastStart: NOW - 60_000, lastSuccess: NOW - 60_000, consecutiveFailures: 0, pausedUntil: NOW + 5 * HOUR }],
        apps: [
          app({ appId: 'd', name: 'Zombie', account: 'main', state: 'disabled', disabledAt: NOW - DAY, lastSuccess: NOW - HOUR, failsSinceDisable: 4 }),
          app({ appId: 'g', name: 'Ghost', account: 'main', goneAt: NOW - HOUR }),
        ],
      }),
      NOW,
      'UTC',
    );
    const problems = sectionText(msg, 'Problems');
    expect(problems).toMatch(/Account \*sub\*: never polled yet/);
    expect(problems).toMatch(/Account \*main\*: Zoom's daily API limit was reached; polling paused until 2024-06-12 14:00 UTC/);
    expect(problems).toMatch(/Zombie was marked disabled 1 d ago but calls still succeed .* it may not really be disabled/);
    expect(problems).toMatch(/Zombie: 4 failed calls since it was disabled/);
    expect(problems).toMatch(/Ghost is gone from Zoom/);
  });

  it('shows still-active apps busiest first with calls, top endpoints, the guessed integration and owner', () => {
    const msg = renderDigest(
      model({
        apps: [
          app({ appId: 's', name: 'Small', calls24h: 1, calls7d: 3 }),
          app({ appId: 'b', name: 'Azure SCIM', calls24h: 40, prev24h: 50, calls7d: 300, owner: 'U0DAVE', topEndpoints: [{ key: 'GET /scim2/Users', count: 250 }], integration: 'SCIM provisioning from Azure AD / Entra ID' }),
        ],
      }),
      NOW,
      'UTC',
    );
    const active = sectionText(msg, 'Still active');
    expect(active).toContain('Still active (2)');
    expect(active).toMatch(/\*Azure SCIM\* — 40 calls 24 h \(↓ 20%\), 300 \/ 7 d · owner <@U0DAVE>\n\s+top: `GET \/scim2\/Users`\n\s+likely: SCIM provisioning from Azure AD/);
    expect(active.indexOf('Azure SCIM')).toBeLessThan(active.indexOf('Small'));
  });

  it("summarises the last 24 h of the audit log, leaving out the digest's own entries", () => {
    const msg = renderDigest(
      model({
        changes: [
          { type: 'request.opened', at: NOW - 5 * HOUR, summary: 'Alice asked to disable Reports', actor: 'U0ALICE' },
          { type: 'digest.posted', at: NOW - 4 * HOUR, summary: 'Daily digest posted', actor: 'system' },
          { type: 'request.signed', at: NOW - 3 * HOUR, summary: 'Bob signed the request', actor: 'U0BOB' },
        ],
      }),
      NOW,
      'UTC',
    );
    const changes = sectionText(msg, 'What changed since yesterday');
    expect(changes).toContain('request.opened ×1');
    expect(changes).toContain('Bob signed the request — <@U0BOB>');
    expect(changes).not.toContain('Daily digest posted');
    expect(changes.indexOf('Bob signed')).toBeLessThan(changes.indexOf('Alice asked'));
  });

  it('escapes user text so an app name cannot inject mentions or links', () => {
    const msg = renderDigest(model({ apps: [app({ appId: 'x', name: '<!channel> & <http://evil|x>', calls7d: 1, calls24h: 1 })] }), NOW, 'UTC');
    const text = visible(msg);
    expect(text).not.toContain('<!channel>');
    expect(text).toContain('&lt;!channel&gt; &amp;');
  });

  it('ends with the audit head (count and 12 hex digits) and the command that checks it', () => {
    const hash = 'ab12cd34ef56'.padEnd(64, '7');
    const last = (msg: SlackMessage) => (msg.blocks![msg.blocks!.length - 1] as { type: string; elements: Array<{ text: string }> });
    const closing = last(renderDigest(model({ auditHead: { count: 12_345, hash } }), NOW, 'UTC'));
    expect(closing.type).toBe('context');
    expect(closing.elements[0]!.text).toBe('Audit log: *12,345* entries, head `ab12cd34ef56` · check it later with `npm run audit:verify -- --head ab12cd34ef56 --count 12345`');
    expect(last(renderDigest(model(), NOW, 'UTC')).elements[0]!.text).toBe('Audit log: no entries yet.');
  });

  it('says when requests could not be read instead of showing none', () => {
    const msg = renderDigest(model({ requestsKnown: false }), NOW, 'UTC');
    expect(sectionText(msg, 'Problems')).toContain('Approval requests could not be read');
  });

  it('keeps 500 apps with long names, many requests and many changes inside Slack limits, in a few ms', () => {
    const long = 'N'.repeat(300);
    const apps: DigestApp[] = [];
    for (let i = 0; i < 500; i++) {
      const state = i % 5 === 0 ? 'disabled' : i % 7 === 0 ? 'removed' : 'active';
      apps.push(
        app({
          appId: `app${i}`,
          name: `${long} ${i}`,
          state,
          calls24h: i,
          prev24h: 500 - i,
          calls7d: i * 7,
          lastCall: i % 3 === 0 ? NOW - 30 * DAY : NOW - HOUR,
          ...(state === 'disabled' ? { disabledAt: NOW - 10 * DAY, lastSuccess: i % 10 === 0 ? NOW - HOUR : NOW - 11 * DAY, failsSinceDisable: i } : {}),
          topEndpoints: [
            { key: `GET /users/{userId}/meetings/${'x'.repeat(200)}`, count: 5 },
            { key: 'POST /scim2/Users', count: 3 },
          ],
          integration: 'I'.repeat(300),
          owner: 'U0OWNER',
        }),
      );
    }
    const m = model({
      apps,
      pending: Array.from({ length: 80 }, (_, i) => request({ id: `r${i}`, appName: `${long} r${i}`, reason: long, signatures: [{ userId: 'U0BOB', at: NOW }] })),
      operatorSteps: Array.from({ length: 20 }, (_, i) => request({ id: `o${i}`, status: 'awaiting_operator', decidedAt: NOW - HOUR })),
      failedExecutions: Array.from({ length: 20 }, (_, i) => request({ id: `f${i}`, status: 'failed', outcome: long })),
      changes: Array.from({ length: 1000 }, (_, i) => ({ type: 'request.signed', at: NOW - i * 1000, summary: `${long} ${i}`, actor: 'U0BOB' })),
      health: [{ account: 'default', lastSuccess: NOW - 60_000, consecutiveFailures: 0 }],
      accounts: ['default', ...Array.from({ length: 40 }, (_, i) => `acct${i}`)],
    });
    let best = Infinity;
    let msg: SlackMessage | undefined;
    for (let run = 0; run < 5; run++) {
      const started = performance.now();
      msg = renderDigest(m, NOW, 'Europe/Paris');
      best = Math.min(best, performance.now() - started);
    }
    expectWithinSlackLimits(msg!);
    const text = visible(msg!);
    expect(text).toMatch(/…and \d+ more apps with calls this week — `\/zoomjwt status`, or `\/zoomjwt app <name>` for one_/);
    expect(text).toMatch(/Needs a person now \(\d{3}\)/);
    expect(text).toMatch(/…and \d+ more — `\/zoomjwt requests`/);
    expect(best).toBeLessThan(25);
  });
});

describe('digest dates', () => {
  it('maps an instant to the calendar date in the digest time zone', () => {
    expect(digestDate(Date.UTC(2024, 0, 1, 23, 30), 'UTC')).toBe('2024-01-01');
    expect(digestDate(Date.UTC(2024, 0, 1, 23, 30), 'Europe/Paris')).toBe('2024-01-02');
    expect(digestDate(Date.UTC(2024, 0, 2, 3, 0), 'America/New_York')).toBe('2024-01-01');
    expect(previousDate('2024-03-01')).toBe('2024-02-29');
    expect(previousDate('2025-01-01')).toBe('2024-12-31');
  });

  it('gives both runs inside a repeated hour (fall back) the same date, so one digest results', () => {
    // 2024-11-03 01:30 happens twice in New York: 05:30Z (EDT) and 06:30Z (EST).
    expect(digestDate(Date.UTC(2024, 10, 3, 5, 30), 'America/New_York')).toBe('2024-11-03');
    expect(digestDate(Date.UTC(2024, 10, 3, 6, 30), 'America/New_York')).toBe('2024-11-03');
    // 2024-10-27 01:30 happens twice in London: 00:30Z (BST) and 01:30Z (GMT).
    expect(digestDate(Date.UTC(2024, 9, 27, 0, 30), 'Europe/London')).toBe('2024-10-27');
    expect(digestDate(Date.UTC(2024, 9, 27, 1, 30), 'Europe/London')).toBe('2024-10-27');
  });

  it.each([
    ['America/New_York', '30 2 * * *', Date.UTC(2024, 2, 7), Date.UTC(2024, 2, 14)],
    ['America/New_York', '30 1 * * *', Date.UTC(2024, 10, 1), Date.UTC(2024, 10, 6)],
    ['Europe/London', '30 1 * * *', Date.UTC(2024, 2, 28), Date.UTC(2024, 3, 3)],
    ['Europe/London', '30 1 * * *', Date.UTC(2024, 9, 24), Date.UTC(2024, 9, 30)],
    ['Europe/London', '0 9 * * *', Date.UTC(2024, 2, 28), Date.UTC(2024, 3, 3)],
  ])('in %s, %p across a transition yields exactly one digest date per calendar day', (tz, cron, from, to) => {
    const it = CronExpressionParser.parse(cron, { tz, currentDate: new Date(from), endDate: new Date(to) });
    const claimed = new Map<string, number>();
    for (;;) {
      if (!it.hasNext()) break;
      const at = it.next().getTime();
      const date = digestDate(at, tz);
      // The per-date claim: a second run on the same date updates instead of posting.
      claimed.set(date, (claimed.get(date) ?? 0) + 1);
    }
    const dates = [...claimed.keys()].sort();
    // No calendar day is skipped: consecutive dates from first to last.
    for (let i = 1; i < dates.length; i++) expect(previousDate(dates[i]!)).toBe(dates[i - 1]);
    expect(dates.length).toBeGreaterThanOrEqual(5);
  });
});
