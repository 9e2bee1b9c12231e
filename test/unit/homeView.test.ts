/**
 * The Home view and the request modal against Slack's limits (the fake Slack's own checks), at
 * the extremes: hundreds of apps with long emoji names, many requests, five accounts; and the
 * hostile names escaped wherever they land.
 */
import type { TrackedApp } from '../../src/capabilities/evidence/rules/app';
import type { StoredRequest } from '../../src/capabilities/approvals/rules/approval';
import { checkView } from '../../dev/fakes/blockKit';
import { modalMetadata, parseMetadata, plainText, requestModalView } from '../../src/capabilities/approvals/views/requestModal';
import { HOME_APPS_PER_PAGE, renderHome, type HomeModel } from '../../src/capabilities/home/views/home';
import type { PollHealth } from '../../src/capabilities/evidence/stores/health';

const NOW = Date.UTC(2026, 10, 28, 12, 0, 0);
const DAY = 86_400_000;
const LONG = `<!channel> <@U0EVIL> & *bold* ${'🦄 Ünïcode '.repeat(30)}`;

const app = (i: number, extra: Partial<TrackedApp> = {}): TrackedApp => ({
  appId: `A${String(i).padStart(6, '0')}${'x'.repeat(100)}`, account: `account-${i % 5}`, name: `${LONG} ${i}`,
  state: i % 3 === 0 ? 'disabled' : i % 7 === 0 ? 'removed' : 'active', disabledAt: NOW - (i % 10) * DAY, owner: i % 4 === 0 ? 'U0ALICE' : undefined,
  trackedAt: NOW - 30 * DAY, trackedBy: 'config', ...extra,
});
const health = (account: string): PollHealth => ({ account, requests: 3, requestsTotal: 9, ingested: 1, ingestedTotal: 5, consecutiveFailures: 4, lastError: `${LONG} failed`, lastErrorAt: NOW - 60_000 });
const request = (i: number, requester: string): StoredRequest => ({
  id: `R${String(i).padStart(10, '0')}`, action: 'disable', appId: `A${i}`, account: 'default', appName: `${LONG} ${i}`, requester,
  reason: LONG, status: 'pending', createdAt: NOW - 1000, expiresAt: NOW + DAY, required: 2, signatures: [], channel: 'C0APPROVALS', ts: `1700000000.${i}`,
});
const window = { calls24h: 5, prev24h: 0, calls7d: 50, prev7d: 0, successes24h: 5, fails24h: 0, prevFails24h: 0, successes7d: 50, fails7d: 0 };

function model(apps: number, page = 0): HomeModel {
  return {
    userId: 'U0ALICE', actionsMode: 'live', warnings: ['REQUIRED_APPROVALS=1: one person can approve alone'], soakPeriodMs: 7 * DAY, pollEveryMs: 900_000,
    accounts: ['a', 'b', 'c', 'd', 'e'].map(health),
    apps: Array.from({ length: apps }, (_, i) => ({ app: app(i), window, summary: { ingested: 1, families: [], lastCall: NOW - 3_600_000 } })),
    toSign: Array.from({ length: 40 }, (_, i) => ({ req: request(i, 'U0BOB'), link: `https://fake.slack/archives/C0APPROVALS/p${i}` })),
    mine: Array.from({ length: 40 }, (_, i) => ({ req: request(100 + i, 'U0ALICE') })),
    page,
  };
}

describe('renderHome', () => {
  it.each([0, 1, 59, 60, 61, 500])('stays inside Slack\'s limits with %i apps on every page', (n) => {
    const pages = Math.max(1, Math.ceil(n / HOME_APPS_PER_PAGE));
    for (let page = 0; page < pages; page++) {
      const view = renderHome(model(n, page), NOW);
      expect(checkView(view)).toEqual([]);
      expect(view.blocks.length).toBeLessThanOrEqual(100);
    }
  });

  it('shows every app exactly once across the pages, and clamps a page out of range', () => {
    const ids = new Set<string>();
    for (let page = 0; page < 9; page++) {
      for (const m of JSON.stringify(renderHome(model(500, page), NOW).blocks).matchAll(/`(A\d{6}x+)`/g)) ids.add(m[1]!);
    }
    expect(ids.size).toBe(500);
    expect(JSON.stringify(renderHome(model(500, 99), NOW).blocks)).toContain('page 9 of 9');
  });

  it('escapes Zoom\'s names and error text wherever they land', () => {
    const text = JSON.stringify(renderHome(model(3), NOW));
    expect(text).not.toMatch(/<!channel>|<@U0EVIL>/);
    expect(text).toContain('&lt;!channel&gt; &lt;@U0EVIL&gt; &amp;');
  });
});

describe('the request modal', () => {
  const evidence = { calls24h: 1, calls7d: 2, topEndpoints: [{ key: `GET /${LONG}`, count: 3 }], soakPeriodMs: 7 * DAY, lastCall: NOW - 1000 };

  it.each(['disable', 'enable', 'remove'] as const)('a %s form for a long hostile name stays inside the limits, escaped', (action) => {
    const view = requestModalView(action, app(3), evidence, { now: NOW, mode: 'live', soakPeriodMs: 7 * DAY });
    expect(checkView(view)).toEqual([]);
    const text = JSON.stringify(view.blocks);
    expect(text).not.toMatch(/<!channel>|<@U0EVIL>/);
    expect(parseMetadata(view.private_metadata)).toEqual({ action, appId: app(3).appId });
  });

  it('reads back only a well-formed action and app id from private_metadata', () => {
    expect(parseMetadata(modalMetadata('remove', 'abc'))).toEqual({ action: 'remove', appId: 'abc' });
    for (const bad of [undefined, '', 'null', '[]', '{"action":"delete","appId":"a"}', '{"action":"remove","appId":7}', '{"action":"remove","appId":""}', 'x'.repeat(3001)]) {
      expect(parseMetadata(bad)).toBeUndefined();
    }
  });

  it('turns a refusal\'s mrkdwn into the plain text Slack shows under a field', () => {
    expect(plainText(':no_entry: *A &lt;b&gt;* is `active`; see <https://x|the card>.')).toBe('A <b> is active; see the card.');
  });
});
