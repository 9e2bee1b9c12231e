/**
 * Every view, fed generated hostile strings wherever outside text lands (app names, ids typed by
 * people, endpoint keys, reasons, outcomes quoting Zoom, error messages): no mention, link or
 * ping that the input carried survives into anything Slack reads as mrkdwn (fallback `text`
 * included). The integration test `hostileText` does the same through the running app; this one
 * reaches the states a live run rarely does (expired, aborted, failed, dry-run removal).
 */
import fc from 'fast-check';
import { mrkdwnStrings } from '../helpers/mrkdwn';
import { canOpen, type StoredRequest } from '../../src/capabilities/approvals/rules/approval';
import type { TrackedApp } from '../../src/capabilities/evidence/rules/app';
import type { RequestStatus } from '../../src/capabilities/approvals/rules/request';
import type { SlackMessage } from '../../src/platform/slack/blocks';
import { resolveApp, resolveFailureMessage } from '../../src/capabilities/evidence/rules/resolveApp';
import { renderCard } from '../../src/capabilities/approvals/views/card';
import { helpMessage } from '../../src/platform/slack/help';
import { healthLine, renderStatus } from '../../src/capabilities/evidence/views/status';
import { renderAppDetail } from '../../src/capabilities/evidence/views/appDetail';
import { fallbackOf } from '../../src/platform/slack/native';

const NOW = Date.UTC(2026, 11, 1, 12);
const DAY = 86_400_000;

const PINGS = ['<!channel>', '<!here>', '<!everyone>', '<!subteam^SBAD|@team>', '<@UBAD1>', '<@WBAD2|boss>', '<#CBAD1|general>', '<https://evil.example/x|click>', '<mailto:a@evil.example|m>'];
const FORBIDDEN = /<!channel|<!here|<!everyone|<!subteam|<@UBAD|<@WBAD|<#CBAD|<https:\/\/evil|<mailto:/;

const hostile = fc
  .tuple(fc.array(fc.constantFrom(...PINGS), { minLength: 1, maxLength: 3 }), fc.string({ maxLength: 20 }))
  .map(([pings, tail]) => `${pings.join(' ')} ${tail}`);

const leaked = (msg: SlackMessage | string) => mrkdwnStrings(msg).filter((s) => FORBIDDEN.test(s));

const STATUSES: RequestStatus[] = ['pending', 'approved', 'awaiting_operator', 'executed', 'rejected', 'cancelled', 'expired', 'aborted', 'failed'];

function request(status: RequestStatus, name: string, reason: string, outcome: string, endpoint: string): StoredRequest {
  return {
    id: 'R0000000001', action: status === 'executed' ? 'remove' : 'disable', appId: 'app1', account: 'default', appName: name,
    requester: 'U0ALICE', reason, status, createdAt: NOW - DAY, expiresAt: NOW + DAY, required: 2,
    signatures: [{ userId: 'U0BOB', at: NOW - 1_000 }], decidedAt: NOW, decidedBy: 'U0BOB', outcome, mode: 'live',
    operatorDoneBy: 'U0CAROL', operatorDoneAt: NOW,
    evidence: { calls24h: 1, calls7d: 2, lastCall: NOW - 1_000, lastSuccess: NOW - 2_000, topEndpoints: [{ key: endpoint, count: 2 }], disabledAt: NOW - 8 * DAY, soakPeriodMs: 7 * DAY },
  };
}

function app(name: string, extra: Partial<TrackedApp> = {}): TrackedApp {
  return { appId: 'app1', account: 'default', name, state: 'active', trackedAt: NOW - 30 * DAY, trackedBy: 'U0ALICE', ...extra };
}

it('the card, in every state, never carries a ping from its name, reason, outcome or endpoints', () => {
  fc.assert(
    fc.property(hostile, hostile, hostile, hostile, (name, reason, outcome, endpoint) => {
      for (const status of STATUSES) {
        for (const mode of ['live', 'dry-run'] as const) {
          expect(leaked(renderCard(request(status, name, reason, outcome, endpoint), { now: NOW, mode }))).toEqual([]);
        }
      }
    }),
  );
});

it('refusals, resolution failures and help never echo a ping', () => {
  fc.assert(
    fc.property(hostile, hostile, (name, typed) => {
      const apps = [app(name), app(`${name} two`, { appId: 'app2' })];
      for (const action of ['disable', 'enable', 'remove'] as const) {
        for (const state of ['active', 'disabled'] as const) {
          const verdict = canOpen({
            action, reason: 'why', app: app(name, { state, ...(state === 'disabled' ? { disabledAt: NOW - DAY } : {}) }), requester: 'U0ALICE', now: NOW,
            soakPeriodMs: 7 * DAY, required: 2, pool: { known: 0, openEnded: false, notes: [] }, lastSuccess: NOW,
          });
          if (!verdict.ok) expect(leaked(verdict.reason)).toEqual([]);
        }
      }
      for (const query of [typed, name.slice(0, 5), '']) {
        const res = resolveApp(query, apps, { exact: true });
        if (!res.ok) expect(leaked(resolveFailureMessage(res, { usage: '`/zoomjwt app <app>`' }))).toEqual([]);
      }
      expect(leaked(helpMessage(`I don't know \`${typed.replace(/[`<>&]/g, '')}\``))).toEqual([]);
    }),
  );
});

it('status and app detail never carry a ping from an app name, a candidate or a poll error', () => {
  fc.assert(
    fc.property(hostile, hostile, hostile, (name, candidate, error) => {
      const health = { account: 'default', requests: 1, requestsTotal: 1, ingested: 0, ingestedTotal: 0, consecutiveFailures: 2, lastError: error, lastErrorAt: NOW - 1_000, lastSuccess: NOW - DAY };
      expect(leaked(healthLine(health, NOW, 900_000))).toEqual([]);
      const row = {
        app: app(name, { migrated: true, migratedNote: candidate, owner: 'U0CAROL' }),
        window: { calls24h: 3, prev24h: 0, calls7d: 3, prev7d: 0, successes24h: 3, fails24h: 0, prevFails24h: 0, successes7d: 3, fails7d: 0 },
        summary: { ingested: 3, families: [], lastCall: NOW - 1_000 },
      };
      const status = renderStatus(
        {
          actionsMode: 'live', soakPeriodMs: 7 * DAY, pollEveryMs: 900_000, accounts: [health], apps: [row],
          candidates: [{ appId: 'cand1', account: 'default', name: candidate, firstSeenAt: NOW - DAY, lastSeenAt: NOW }],
          slackProblems: [error],
        } as unknown as Parameters<typeof renderStatus>[0],
        NOW,
      );
      expect(leaked(status)).toEqual([]);
      const detail = renderAppDetail(
        {
          app: row.app, window: row.window, summary: row.summary, daily: [], endpoints: [{ key: `GET /users/${name}`, method: 'GET', template: `/users/${name}`, count: 2, errors: 1, first: NOW - DAY, last: NOW }],
          soakPeriodMs: 7 * DAY, audit: [{ id: '1-0', type: 'app.migrated', at: NOW, actor: 'U0CAROL', summary: `<@U0CAROL> marked it migrated: ${candidate}`, prev: '', hash: '' }],
          pendingRequests: 1,
        } as unknown as Parameters<typeof renderAppDetail>[0],
        NOW,
      );
      expect(leaked(detail)).toEqual([]);
      // Its text fallback (where Slack refuses the table) too.
      expect(fallbackOf(detail)).toBeDefined();
      expect(leaked(fallbackOf(detail)!)).toEqual([]);
    }),
  );
});
