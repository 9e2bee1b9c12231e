import type { CandidateApp, TrackedApp } from '../../src/capabilities/evidence/rules/app';
import { LIMITS, type SlackMessage } from '../../src/platform/slack/blocks';
import { endpointTable, renderAppDetail } from '../../src/capabilities/evidence/views/appDetail';
import { fallbackOf } from '../../src/platform/slack/native';
import {
  detailedAppIds,
  healthLine,
  packSections,
  renderStatus,
  stateText,
  STATUS_DETAILED_MAX,
  type StatusAppRow,
  type StatusModel,
} from '../../src/capabilities/evidence/views/status';
import type { PollHealth } from '../../src/capabilities/evidence/stores/health';
import type { UsageWindow } from '../../src/capabilities/evidence/stores/usageRead';

const NOW = Date.UTC(2026, 10, 28, 12, 0, 0);
const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

function win(calls24h: number, calls7d: number, extra: Partial<UsageWindow> = {}): UsageWindow {
  return { calls24h, prev24h: 0, calls7d, prev7d: 0, successes24h: calls24h, fails24h: 0, prevFails24h: 0, successes7d: calls7d, fails7d: 0, ...extra };
}

function app(i: number, extra: Partial<TrackedApp> = {}): TrackedApp {
  return { appId: `App${String(i).padStart(5, '0')}x`, account: 'default', name: `App ${i}`, state: 'active', trackedAt: NOW - 30 * DAY, trackedBy: 'config', ...extra };
}

function health(extra: Partial<PollHealth> = {}): PollHealth {
  return { account: 'default', requests: 0, requestsTotal: 0, ingested: 0, ingestedTotal: 0, consecutiveFailures: 0, ...extra };
}

function model(apps: StatusAppRow[], extra: Partial<StatusModel> = {}): StatusModel {
  return {
    actionsMode: 'dry-run',
    soakPeriodMs: 7 * DAY,
    pollEveryMs: 15 * MIN,
    accounts: [health({ lastSuccess: NOW - 3 * MIN, lastStart: NOW - 4 * MIN, ingested: 12, requests: 5 })],
    apps,
    candidates: [],
    ...extra,
  };
}

/** Every Slack limit a message can break, as a list of violations (empty when valid). */
function violations(msg: SlackMessage): string[] {
  const out: string[] = [];
  const blocks = (msg.blocks ?? []) as Array<Record<string, any>>;
  if (blocks.length > LIMITS.blocks) out.push(`${blocks.length} blocks`);
  if (msg.text.length > LIMITS.fallback) out.push(`fallback ${msg.text.length}`);
  blocks.forEach((b, i) => {
    if (b.type === 'section' && b.text && b.text.text.length > LIMITS.sectionText) out.push(`section ${i}: ${b.text.text.length} chars`);
    if (b.type === 'section' && b.fields) for (const f of b.fields) if (f.text.length > LIMITS.fieldText) out.push(`field in ${i}`);
    if (b.type === 'header' && b.text.text.length > LIMITS.headerText) out.push(`header ${i}`);
    if (b.type === 'context' && b.elements.length > LIMITS.contextElements) out.push(`context ${i}`);
    if (b.type === 'context') for (const e of b.elements) if (e.text.length > LIMITS.fieldText) out.push(`context text ${i}`);
  });
  return out;
}

const allText = (msg: SlackMessage) => JSON.stringify(msg.blocks);

/** 500 apps of every kind, with long names and notes, as a worst case. */
function bigFleet(n = 500): StatusAppRow[] {
  const rows: StatusAppRow[] = [];
  for (let i = 0; i < n; i++) {
    const busy = i % 5 === 0;
    const state: TrackedApp['state'] = i % 17 === 0 ? 'disabled' : i % 23 === 0 ? 'removed' : 'active';
    rows.push({
      app: app(i, {
        name: `${'Very long integration name '.repeat(4)}${i}`,
        state,
        ...(state === 'disabled' ? { disabledAt: NOW - (i % 9) * DAY } : {}),
        ...(state === 'removed' ? { removedAt: NOW - DAY } : {}),
        ...(i % 3 === 0 ? { owner: 'U0OWNER', migrated: true, migratedNote: 'moved to S2S '.repeat(20) } : {}),
      }),
      window: busy ? win(100 + i, 1_000 + i, { prev24h: 50, fails24h: 3 }) : win(0, 0),
      summary: { ingested: busy ? 1000 : 0, families: [], ...(busy ? { lastCall: NOW - i * MIN } : {}) },
      endpoints: busy
        ? [
            { key: `PATCH /scim2/Users/{userId}/${'segment'.repeat(25)}`, count: 500 },
            { key: 'GET /scim2/Users', count: 300 },
            { key: 'POST /users/{userId}/meetings', count: 10 },
          ]
        : [],
      pendingRequests: i % 7 === 0 ? 2 : 0,
    });
  }
  return rows;
}

describe('renderStatus', () => {
  it('stays within Slack limits for 500 apps and 300 candidates, and accounts for every app', () => {
    const candidates: CandidateApp[] = Array.from({ length: 300 }, (_, i) => ({ appId: `Cand${i}`, account: 'default', name: `Candidate ${'x'.repeat(90)} ${i}`, seenAt: NOW }));
    const rows = bigFleet();
    const started = performance.now();
    const msg = renderStatus(model(rows, { candidates }), NOW);
    const ms = performance.now() - started;
    expect(violations(msg)).toEqual([]);
    const text = allText(msg);
    const shown = rows.filter((r) => text.includes(`\`${r.app.appId}\``)).length;
    const more = /…and (\d[\d,]*) more/.exec(text);
    expect(more).not.toBeNull();
    expect(shown + Number(more![1]!.replace(/,/g, ''))).toBe(500);
    expect(shown).toBeGreaterThanOrEqual(STATUS_DETAILED_MAX);
    expect(text).toMatch(/more apps \(\d+ with calls in the last 7 days\)/);
    // Rendering is pure and cheap; the bound is generous so a slow CI box does not flake.
    expect(ms).toBeLessThan(250);
  });

  it('keeps within limits however large the fleet, and shows quiet apps as a count', () => {
    for (const n of [0, 1, 49, 50, 51, 200, 2000]) {
      const rows = Array.from({ length: n }, (_, i) => ({ app: app(i), window: win(0, 0), summary: { ingested: 0, families: [] } }));
      const msg = renderStatus(model(rows), NOW);
      expect(violations(msg)).toEqual([]);
      if (n > 60) expect(allText(msg)).toContain(`more quiet apps`);
    }
  });

  it('shows a busy app in full: counts with trend, last call, top endpoints, guess, owner, migrated', () => {
    const rows: StatusAppRow[] = [
      {
        app: app(1, { name: 'Azure SCIM JWT', owner: 'U0DANA', migrated: true, migratedNote: 'moved to S2S' }),
        window: win(30, 35, { prev24h: 20, prev7d: 70, fails24h: 2 }),
        summary: { ingested: 35, families: ['scim2'], lastCall: NOW - 3 * MIN },
        endpoints: [
          { key: 'PATCH /scim2/Users/{userId}', count: 20 },
          { key: 'GET /scim2/Users', count: 10 },
          { key: 'POST /users/{userId}/meetings', count: 4 },
          { key: 'GET /users', count: 1 },
        ],
        pendingRequests: 1,
      },
      { app: app(2, { name: 'Quiet one' }), window: win(0, 0), summary: { ingested: 0, families: [] } },
    ];
    const text = allText(renderStatus(model(rows), NOW));
    expect(text).toContain('*Azure SCIM JWT* `App00001x`');
    expect(text).toContain('24 h: *30* (↑ 50%, 2 failed)');
    expect(text).toContain('7 d: *35* (↓ 50%)');
    expect(text).toContain('last call 3 min ago');
    expect(text).toContain('`PATCH /scim2/Users/{userId}` 20 · `GET /scim2/Users` 10 · `POST /users/{userId}/meetings` 4');
    expect(text).not.toContain('`GET /users` 1');
    expect(text).toMatch(/Likely: SCIM provisioning[^\n"]*Azure/);
    expect(text).toContain('owner <@U0DANA>');
    expect(text).toContain('migrated — “moved to S2S”');
    expect(text).toContain('1 pending request');
    expect(text).toMatch(/• \*Quiet one\* `App00002x` — :large_green_circle: active · no calls in 7 d · last call never/);
  });

  it('orders soaking apps first and the busiest next', () => {
    const rows: StatusAppRow[] = [
      { app: app(1, { name: 'Small' }), window: win(1, 5), summary: { ingested: 5, families: [] } },
      { app: app(2, { name: 'Big' }), window: win(100, 500), summary: { ingested: 500, families: [] } },
      { app: app(3, { name: 'Soaking', state: 'disabled', disabledAt: NOW - 3 * DAY }), window: win(0, 0), summary: { ingested: 0, families: [] } },
      { app: app(4, { name: 'Quiet' }), window: win(0, 0), summary: { ingested: 0, families: [] } },
    ];
    expect(detailedAppIds(rows)).toEqual(['App00003x', 'App00002x', 'App00001x']);
    const text = allText(renderStatus(model(rows), NOW));
    expect(text.indexOf('*Soaking*')).toBeLessThan(text.indexOf('*Big*'));
    expect(text.indexOf('*Big*')).toBeLessThan(text.indexOf('*Small*'));
    expect(text.indexOf('*Small*')).toBeLessThan(text.indexOf('*Quiet*'));
  });

  it('says which actions mode is on, and posts in the channel only when public', () => {
    const dry = renderStatus(model([]), NOW);
    expect(allText(dry)).toContain('*DRY-RUN*');
    expect(dry.response_type).toBe('ephemeral');
    const live = renderStatus(model([], { actionsMode: 'live', public: true }), NOW);
    expect(allText(live)).toContain('*LIVE*');
    expect(live.response_type).toBe('in_channel');
    expect(allText(dry)).toContain('No app is tracked yet');
  });

  it('lists candidates with the command to track them', () => {
    const msg = renderStatus(model([], { candidates: [{ appId: 'CandA1', account: 'default', name: 'Forgotten JWT', seenAt: NOW }] }), NOW);
    expect(allText(msg)).toContain('*Forgotten JWT* `CandA1` — `/zoomjwt track CandA1`');
  });

  it('escapes names that look like Slack markup', () => {
    const rows: StatusAppRow[] = [{ app: app(1, { name: '<!channel> & <@U0EVIL>' }), window: win(0, 0), summary: { ingested: 0, families: [] } }];
    const text = allText(renderStatus(model(rows), NOW));
    expect(text).not.toContain('<!channel>');
    expect(text).toContain('&lt;!channel&gt; &amp; &lt;@U0EVIL&gt;');
  });
});

describe('state and soak clock', () => {
  it('counts the soak in days against SOAK_PERIOD', () => {
    expect(stateText(app(1, { state: 'disabled', disabledAt: NOW - 3 * DAY - HOUR }), NOW, 7 * DAY)).toBe(':pause_button: disabled 3 d ago · soaking 3 d of 7 d');
    expect(stateText(app(1, { state: 'disabled', disabledAt: NOW - 8 * DAY }), NOW, 7 * DAY)).toContain('soak complete (7 d)');
    expect(stateText(app(1, { state: 'disabled', disabledAt: NOW - 5 * HOUR }), NOW, 0)).toContain('no soak period');
    expect(stateText(app(1, { state: 'removed', removedAt: NOW - 2 * DAY }), NOW, 7 * DAY)).toBe(':wastebasket: removed 2 d ago');
    expect(stateText(app(1, { goneAt: NOW - 3 * HOUR }), NOW, 7 * DAY)).toBe(':ghost: gone from Zoom (noticed 3 h ago)');
  });
});

describe('poll health lines', () => {
  it('never polled, succeeded, failed, paused, late', () => {
    expect(healthLine(health(), NOW, 15 * MIN)).toContain('never polled yet');
    expect(healthLine(health(), NOW, 0)).toContain('run `/zoomjwt poll`');
    expect(healthLine(health({ lastSuccess: NOW - 3 * MIN, ingested: 40, requests: 6 }), NOW, 15 * MIN)).toBe(
      ':white_check_mark: *default*: last poll 3 min ago, 40 new entries, 6 API requests',
    );
    const failed = healthLine(
      health({ lastSuccess: NOW - 3 * HOUR, lastErrorAt: NOW - 2 * MIN, lastError: 'Zoom refused the credentials for account default (Invalid client_id or client_secret)', consecutiveFailures: 4 }),
      NOW,
      15 * MIN,
    );
    expect(failed).toContain(':warning: *default*: the last poll failed 2 min ago (4 polls in a row): Zoom refused the credentials');
    expect(failed).toContain('Last good poll 3 h ago.');
    expect(healthLine(health({ lastErrorAt: NOW - MIN, lastError: 'boom', consecutiveFailures: 1 }), NOW, 15 * MIN)).toContain('No good poll yet.');
    const paused = healthLine(health({ lastSuccess: NOW - HOUR, pausedUntil: NOW + 3 * HOUR + MIN }), NOW, 15 * MIN);
    expect(paused).toContain("paused by Zoom's daily API limit until 2026-11-28 15:01 UTC (in 3 h)");
    expect(healthLine(health({ lastSuccess: NOW - 5 * HOUR }), NOW, 15 * MIN)).toContain('is the worker running?');
    expect(healthLine(health({ lastSuccess: NOW - 20 * MIN, lastStart: NOW - MIN }), NOW, 15 * MIN)).toContain('polling now');
  });
});

describe('packSections', () => {
  it('never exceeds the budget and keeps every entry in order', () => {
    const entries = Array.from({ length: 100 }, (_, i) => `${i}:${'x'.repeat((i * 37) % 400)}`);
    const packed = packSections(entries, '\n', 1000);
    expect(packed.every((p) => p.text.length <= 1000)).toBe(true);
    expect(packed.reduce((n, p) => n + p.count, 0)).toBe(100);
    expect(packed.map((p) => p.text).join('\n')).toBe(entries.join('\n'));
  });
});

describe('renderAppDetail', () => {
  const days = Array.from({ length: 30 }, (_, i) => ({
    day: new Date(NOW - (29 - i) * DAY).toISOString().slice(0, 10),
    total: i === 29 ? 30 : i === 26 ? 5 : 0,
    ok: i === 29 ? 28 : i === 26 ? 5 : 0,
    failed: i === 29 ? 2 : 0,
    byClass: { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, other: 0 },
  }));
  const endpoints = Array.from({ length: 40 }, (_, i) => ({
    key: `GET /scim2/Users/{userId}/e${i}`,
    method: 'GET',
    template: `/scim2/Users/{userId}/e${i}${'/long'.repeat(i)}`,
    count: 100 - i,
    errors: i % 4,
    first: NOW - DAY,
    last: NOW - i * MIN,
  }));

  it('shows the daily series, the endpoint table, the guess with a guide, history, within limits', () => {
    const msg = renderAppDetail(
      {
        app: app(1, { name: 'Azure SCIM JWT', state: 'disabled', disabledAt: NOW - 2 * DAY, owner: 'U0DANA', ownerSetBy: 'U0ALICE', ownerSetAt: NOW - DAY }),
        summary: { ingested: 35, families: ['scim2'], lastCall: NOW - 3 * MIN, lastSuccess: NOW - 3 * DAY, lastFailure: NOW - 3 * MIN },
        window: win(30, 35),
        daily: days,
        endpoints,
        failuresSinceDisable: { count: 2, granularity: 'hour', endpoints: [{ key: 'GET /scim2/Users', count: 2 }] },
        audit: [
          { id: '1-0', at: NOW - HOUR, prev: '', hash: '', type: 'app.owner', actor: 'U0ALICE', appId: 'App00001x', summary: '<@U0ALICE> made <@U0DANA> the owner of Azure SCIM JWT', details: { owner: 'U0DANA', previous: null } },
        ],
        soakPeriodMs: 7 * DAY,
      },
      NOW,
    );
    expect(violations(msg)).toEqual([]);
    // Native: the chart and the table; its fallback (kept with it) has the sparkline and columns.
    const blockTypes = (msg.blocks ?? []).map((b) => b.type as string);
    expect(blockTypes).toEqual(expect.arrayContaining(['data_visualization', 'table']));
    const fallback = fallbackOf(msg)!;
    expect(violations(fallback)).toEqual([]);
    expect(allText(fallback)).toContain('▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▃▁▁█');
    expect(allText(fallback)).toMatch(/GET\s+\/scim2\/Users\/\{userId\}\/e0\s+100/);
    expect((fallback.blocks ?? []).map((b) => b.type as string)).not.toContain('data_visualization');
    const text = allText(msg);
    expect(text).toContain('30 d: *35* calls, 2 failed (6%)');
    expect(text).toContain('/scim2/Users/{userId}/e0');
    expect(text).toMatch(/…and \d+ more endpoints/);
    expect(text).toContain('Azure Automated Provisioning (SCIM)');
    expect(text).toContain('2 failed calls: something still depends on it');
    expect(text).toContain('soaking 2 d of 7 d');
    expect(text).toContain('<@U0ALICE> made <@U0DANA> the owner');
    expect(text).toContain('*Owner:* <@U0DANA>');
  });

  it('falls back to the generic migration guide when no guess has one', () => {
    const msg = renderAppDetail(
      { app: app(2, { name: 'Thing' }), summary: { ingested: 0, families: [] }, window: win(0, 0), daily: days.map((d) => ({ ...d, total: 0, failed: 0 })), endpoints: [], audit: [], soakPeriodMs: 7 * DAY },
      NOW,
    );
    const text = allText(msg);
    expect(text).toContain('JWT app type migration guide');
    expect(text).toContain('No calls in the last 30 days');
    expect(text).toContain('No audit entries');
  });

  it('keeps the endpoint table inside one section', () => {
    expect(endpointTable(endpoints).length).toBeLessThanOrEqual(LIMITS.sectionText);
  });
});
