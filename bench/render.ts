/**
 * Render time: `renderStatus` and `renderDigest` for a fleet of 500 tracked apps of every kind
 * (busy, quiet, disabled and soaking, removed, long names, owners, notes, pending requests),
 * p99 of 100 builds after a warm-up, and a check that every build stays within Slack's limits.
 */
import type { TrackedApp } from '../src/capabilities/evidence/rules/app';
import { renderDigest } from '../src/capabilities/digest/views/digest';
import { type DigestApp, type DigestModel } from '../src/capabilities/digest/model';
import type { ApprovalRequest } from '../src/capabilities/approvals/rules/request';
import { LIMITS, type SlackMessage } from '../src/platform/slack/blocks';
import { renderStatus, type StatusAppRow, type StatusModel } from '../src/capabilities/evidence/views/status';
import { summarise, type LatencySummary } from './stats';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

export interface RenderResult {
  apps: number;
  builds: number;
  status: LatencySummary & { blocks: number; longest_section: number; within_limits: boolean };
  digest: LatencySummary & { blocks: number; longest_section: number; within_limits: boolean };
}

/** Slack's limits for one message: a list of what breaks them (empty when none). */
export function limitViolations(msg: SlackMessage): string[] {
  const out: string[] = [];
  const blocks = (msg.blocks ?? []) as Array<{ type: string; text?: { text: string }; elements?: Array<{ text?: string }> }>;
  if (blocks.length > LIMITS.blocks) out.push(`${blocks.length} blocks`);
  if (msg.text.length > LIMITS.fallback) out.push(`fallback text ${msg.text.length}`);
  blocks.forEach((b, i) => {
    if (b.type === 'section' && (b.text?.text.length ?? 0) > LIMITS.sectionText) out.push(`section ${i}: ${b.text!.text.length} chars`);
    if (b.type === 'header' && (b.text?.text.length ?? 0) > LIMITS.headerText) out.push(`header ${i}`);
    if (b.type === 'context' && (b.elements?.length ?? 0) > LIMITS.contextElements) out.push(`context ${i}`);
  });
  return out;
}

const longestSection = (msg: SlackMessage) =>
  Math.max(0, ...((msg.blocks ?? []) as Array<{ type: string; text?: { text: string } }>).filter((b) => b.type === 'section').map((b) => b.text?.text.length ?? 0));

export function statusFleet(n: number, now: number): StatusModel {
  const rows: StatusAppRow[] = [];
  for (let i = 0; i < n; i++) {
    const busy = i % 4 === 0;
    const state: TrackedApp['state'] = i % 17 === 0 ? 'disabled' : i % 23 === 0 ? 'removed' : 'active';
    const app: TrackedApp = {
      appId: `App${String(i).padStart(5, '0')}Xy9`,
      account: i % 3 === 0 ? 'emea' : 'default',
      name: `${i % 2 ? 'Azure SCIM provisioning' : 'Legacy room booking integration'} ${i}`,
      state,
      trackedAt: now - 40 * DAY,
      trackedBy: 'config',
      ...(state === 'disabled' ? { disabledAt: now - (i % 9) * DAY } : {}),
      ...(state === 'removed' ? { removedAt: now - DAY } : {}),
      ...(i % 3 === 0 ? { owner: 'U0OWNER', migrated: true, migratedNote: 'moved to a Server-to-Server OAuth app' } : {}),
    };
    rows.push({
      app,
      window: busy
        ? { calls24h: 100 + i, prev24h: 80, calls7d: 900 + i, prev7d: 700, successes24h: 97 + i, fails24h: 3, prevFails24h: 1, successes7d: 890 + i, fails7d: 10 }
        : { calls24h: 0, prev24h: 0, calls7d: 0, prev7d: 0, successes24h: 0, fails24h: 0, prevFails24h: 0, successes7d: 0, fails7d: 0 },
      summary: { ingested: busy ? 5000 + i : 0, families: busy ? ['scim2', 'users', 'meetings'] : [], ...(busy ? { lastCall: now - i * MIN, lastSuccess: now - i * MIN, lastComplete: now - 5 * MIN } : {}) },
      endpoints: busy
        ? [
            { key: 'PATCH /scim2/Users/{userId}', count: 500 },
            { key: 'GET /scim2/Users', count: 300 },
            { key: 'POST /users/{userId}/meetings', count: 10 },
            { key: 'GET /report/daily', count: 2 },
          ]
        : [],
      pendingRequests: i % 7 === 0 ? 1 : 0,
    });
  }
  return {
    actionsMode: 'dry-run',
    soakPeriodMs: 7 * DAY,
    pollEveryMs: 15 * MIN,
    accounts: ['default', 'emea'].map((account) => ({
      account, lastStart: now - 4 * MIN, lastSuccess: now - 3 * MIN, requests: 520, requestsTotal: 90_000, ingested: 1200, ingestedTotal: 2_000_000, consecutiveFailures: 0,
    })),
    apps: rows,
    candidates: Array.from({ length: 40 }, (_, i) => ({ appId: `Cand${i}Zz`, account: 'default', name: `Forgotten JWT app ${i}`, seenAt: now - HOUR })),
  };
}

export function digestFleet(n: number, now: number): DigestModel {
  const apps: DigestApp[] = [];
  for (let i = 0; i < n; i++) {
    const state = i % 5 === 0 ? 'disabled' : i % 7 === 0 ? 'removed' : 'active';
    apps.push({
      appId: `App${String(i).padStart(5, '0')}Xy9`,
      name: `${i % 2 ? 'Azure SCIM provisioning' : 'Legacy room booking integration'} ${i}`,
      account: 'default',
      state,
      trackedAt: now - 60 * DAY,
      calls24h: i % 4 === 0 ? i : 0,
      prev24h: i % 4 === 0 ? 500 - i : 0,
      calls7d: i % 4 === 0 ? i * 7 : 0,
      fails24h: i % 11 === 0 ? 3 : 0,
      lastCall: i % 3 === 0 ? now - 30 * DAY : now - HOUR,
      lastRead: now - 10 * MIN,
      ...(state === 'disabled' ? { disabledAt: now - 10 * DAY, lastSuccess: i % 10 === 0 ? now - HOUR : now - 11 * DAY, failsSinceDisable: i % 3 } : {}),
      topEndpoints: [
        { key: 'GET /users/{userId}/meetings', count: 5 },
        { key: 'POST /scim2/Users', count: 3 },
      ],
      ...(i % 2 ? { integration: 'Azure AD / Entra ID provisioning (SCIM)' } : {}),
      ...(i % 3 === 0 ? { owner: 'U0OWNER' } : {}),
    });
  }
  const request = (id: string, over: Partial<ApprovalRequest> = {}): ApprovalRequest => ({
    id, action: 'disable', appId: 'App00001Xy9', account: 'default', appName: 'Azure SCIM provisioning 1', requester: 'U0ALICE',
    reason: 'callers moved to the S2S app', status: 'pending', createdAt: now - 2 * HOUR, expiresAt: now + 5 * HOUR, required: 2,
    signatures: [{ userId: 'U0BOB', at: now - HOUR }], ...over,
  });
  return {
    apps,
    accounts: ['default'],
    health: [{ account: 'default', lastStart: now - 10 * MIN, lastSuccess: now - 10 * MIN, consecutiveFailures: 0 }],
    pending: Array.from({ length: 30 }, (_, i) => request(`R${i}`)),
    operatorSteps: Array.from({ length: 5 }, (_, i) => request(`O${i}`, { status: 'awaiting_operator', decidedAt: now - HOUR })),
    failedExecutions: Array.from({ length: 3 }, (_, i) => request(`F${i}`, { status: 'failed', outcome: 'Zoom answered 403' })),
    requestsKnown: true,
    changes: Array.from({ length: 200 }, (_, i) => ({ type: 'request.signed', at: now - i * 60_000, summary: `<@U0BOB> approved request R${i}`, actor: 'U0BOB' })),
    candidates: 40,
    soakPeriodMs: 7 * DAY,
    pollEveryMs: 15 * MIN,
    mode: 'dry-run',
  };
}

function time(build: () => SlackMessage, builds: number): { summary: LatencySummary; msg: SlackMessage; problems: string[] } {
  let msg = build();
  for (let i = 0; i < 10; i++) build();
  const lat: number[] = [];
  const problems = new Set<string>();
  const started = performance.now();
  for (let i = 0; i < builds; i++) {
    const t0 = performance.now();
    msg = build();
    lat.push(performance.now() - t0);
    for (const p of limitViolations(msg)) problems.add(p);
  }
  return { summary: summarise(lat, performance.now() - started), msg, problems: [...problems] };
}

export function runRender(apps = 500, builds = 100): RenderResult {
  const now = Date.now();
  const status = statusFleet(apps, now);
  const digest = digestFleet(apps, now);
  const s = time(() => renderStatus(status, now), builds);
  const d = time(() => renderDigest(digest, now, 'Europe/Paris'), builds);
  return {
    apps,
    builds,
    status: { ...s.summary, blocks: s.msg.blocks?.length ?? 0, longest_section: longestSection(s.msg), within_limits: s.problems.length === 0 },
    digest: { ...d.summary, blocks: d.msg.blocks?.length ?? 0, longest_section: longestSection(d.msg), within_limits: d.problems.length === 0 },
  };
}
