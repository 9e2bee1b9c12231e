/**
 * The sandbox's world: a simulated Zoom account with a believable 30-day history, the people of
 * a small Slack workspace, and the traffic that keeps arriving while the sandbox runs.
 *
 * - **Azure SCIM JWT** is still called every day by Azure AD provisioning (`/scim2/Users…`), and
 *   keeps being called while the sandbox runs (a few entries every few seconds).
 * - **Reporting JWT** was a nightly reporting job that stopped 20 days ago: ready to disable.
 * - **Rooms Control JWT** was disabled 3 days ago, and a Zoom Rooms script still calls it: every
 *   call since then fails with 401 (code 124 in Zoom's body; the log keeps the status).
 * - **Webinar Sync** is an app the account created that nobody tracks yet (a candidate), still
 *   called on weekdays; **Old Phone Export** is another candidate nobody has used in 30 days.
 * - The account sends Zoom's usage fields on List apps (changelog 2026-11-09), so `status` ranks
 *   the candidates by recent use and polls of idle apps only list.
 *
 * Times come from the sandbox clock, so `wait 8d` in the console moves this world forward too.
 */
import type { FakeSlack, FakeUser } from '../fakes/slackSim';
import type { FakeZoom } from '../fakes/zoomSim';
import type { ZoomCallLog } from '../../src/platform/zoom/types';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const SANDBOX_TEAM = 'T0SANDBOX';

export interface Person {
  handle: string;
  id: string;
  role: string;
  user: FakeUser;
  approver: boolean;
}

export const PEOPLE: readonly Person[] = [
  { handle: 'ana', id: 'U0ANA', role: 'Zoom admin, opens requests (also an approver)', approver: true, user: { id: 'U0ANA', name: 'ana' } },
  { handle: 'bea', id: 'U0BEA', role: 'approver', approver: true, user: { id: 'U0BEA', name: 'bea' } },
  { handle: 'carl', id: 'U0CARL', role: 'approver', approver: true, user: { id: 'U0CARL', name: 'carl' } },
  { handle: 'dan', id: 'U0DAN', role: 'engineer, not an approver', approver: false, user: { id: 'U0DAN', name: 'dan' } },
  {
    handle: 'gus', id: 'U0GUS', role: 'guest account (listed as an approver, refused by Slack status)', approver: true,
    user: { id: 'U0GUS', name: 'gus', is_restricted: true },
  },
];

export const CHANNELS = {
  approvals: { id: 'C0APPROVALS', name: 'zoomjwt-approvals' },
  digest: { id: 'C0DIGEST', name: 'zoomjwt-digest' },
  /** Where the console's slash commands are typed. */
  ops: { id: 'C0OPS', name: 'it-ops' },
} as const;

export const ZOOM_ACCOUNT_ID = 'sandboxAcct01';

export const APPS = {
  scim: { app_id: 'jwtScimAzure01', app_name: 'Azure SCIM JWT' },
  reporting: { app_id: 'jwtReporting02', app_name: 'Reporting JWT' },
  rooms: { app_id: 'jwtRoomsCtl03', app_name: 'Rooms Control JWT' },
  webinar: { app_id: 'jwtWebinarSync04', app_name: 'Webinar Sync' },
  phoneExport: { app_id: 'jwtPhoneExport05', app_name: 'Old Phone Export' },
} as const;

/** What Zoom's usage fields add beyond the figures the fake computes from the logs. */
const USAGE_EXTRAS: Record<string, Record<string, unknown>> = {
  [APPS.scim.app_id]: { active_users: 1, connections: 1, works_with: ['ZOOM_MEETING'] },
  [APPS.reporting.app_id]: { active_users: 1, connections: 1, works_with: ['ZOOM_MEETING', 'ZOOM_WEBINAR'] },
  [APPS.rooms.app_id]: { active_users: 2, connections: 1, works_with: ['ZOOM_ROOMS'] },
  [APPS.webinar.app_id]: { active_users: 3, connections: 2, works_with: ['ZOOM_WEBINAR'] },
  [APPS.phoneExport.app_id]: { active_users: 0, connections: 0, works_with: ['ZOOM_PHONE'] },
};

/** Apps tracked from the start (ZOOM_APP_IDS); Webinar Sync and Old Phone Export stay candidates. */
export const TRACKED_APP_IDS = [APPS.scim.app_id, APPS.reporting.app_id, APPS.rooms.app_id];

/** Reporting JWT's last call, and Rooms Control JWT's disable, before the sandbox starts. */
export const REPORTING_SILENT_FOR_MS = 20 * DAY;
export const ROOMS_DISABLED_AGO_MS = 3 * DAY;

const API = 'https://api.zoom.us/v2';
const SCIM_USERS = ['2f9aK1bQTmuW0c8x1Lr7Xg', 'KdYKjnimT4KPd8FFgQt9FQ', 'p0QwZ3nTQ5Ki2h1vbYx0sA', 'Zz81mKcRQYy1rDq0aLmW3g'];
const EMAILS = ['ann.lee@example.com', 'raj.patel@example.com', 'mia.chen@example.com', 'tom.berg@example.com'];
const ROOMS = ['vQ2rNw8xT0eQ9mJ3aBc1Dw', 'Lm4pQ7rT2sUv9wX1yZa0Bc'];

type Endpoint = { method: string; url: string; weight?: number };

const SCIM_ENDPOINTS: Endpoint[] = [
  ...EMAILS.map((e) => ({ method: 'GET', url: `${API}/scim2/Users?filter=userName%20eq%20%22${encodeURIComponent(e)}%22`, weight: 3 })),
  ...SCIM_USERS.map((id) => ({ method: 'PATCH', url: `${API}/scim2/Users/${id}`, weight: 2 })),
  { method: 'POST', url: `${API}/scim2/Users`, weight: 1 },
  { method: 'DELETE', url: `${API}/scim2/Users/${SCIM_USERS[3]!}`, weight: 0.3 },
  { method: 'GET', url: `${API}/scim2/Groups?startIndex=1&count=100`, weight: 0.5 },
];
const REPORTING_ENDPOINTS: Endpoint[] = [
  { method: 'GET', url: `${API}/report/daily?year=2026&month=5`, weight: 1 },
  { method: 'GET', url: `${API}/report/users?from=2026-05-01&to=2026-05-31&page_size=300`, weight: 3 },
  { method: 'GET', url: `${API}/metrics/meetings?type=past&page_size=300`, weight: 2 },
];
const ROOMS_ENDPOINTS: Endpoint[] = [
  { method: 'GET', url: `${API}/rooms?page_size=30`, weight: 2 },
  ...ROOMS.map((id) => ({ method: 'PATCH', url: `${API}/rooms/${id}/settings`, weight: 1 })),
  ...ROOMS.map((id) => ({ method: 'GET', url: `${API}/rooms/${id}/devices`, weight: 1 })),
];
const WEBINAR_ENDPOINTS: Endpoint[] = [
  { method: 'GET', url: `${API}/users/${EMAILS[0]!}/webinars?page_size=30`, weight: 2 },
  { method: 'GET', url: `${API}/past_webinars/93847562011/participants?page_size=300`, weight: 1 },
];

/** Deterministic pseudo-randomness (mulberry32): the same history every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const startOfUtcDay = (ms: number) => ms - (ms % DAY);
const isWeekend = (ms: number) => [0, 6].includes(new Date(ms).getUTCDay());

export interface SimulatedAccount {
  /** Fills the simulated account with its history up to `now`. */
  seed(now: number): void;
  /** The traffic of [fromMs, toMs) in bulk (the console's `wait`): daily SCIM, failing Rooms calls. */
  advance(fromMs: number, toMs: number): void;
  /** A few new calls at `now` (the live timer); returns how many were added. */
  tick(now: number): number;
  /** When Rooms Control JWT was disabled (set by `seed`). */
  readonly roomsDisabledAt: number;
}

export function createSimulatedAccount(zoom: FakeZoom, clientId: string, clientSecret: string): SimulatedAccount {
  zoom.addAccount({ accountId: ZOOM_ACCOUNT_ID, clientId, clientSecret, metrics: 'on' });
  for (const app of Object.values(APPS)) {
    zoom.addApp(ZOOM_ACCOUNT_ID, { ...app, app_type: 'JWT', app_status: 'PUBLISHED', ...(USAGE_EXTRAS[app.app_id] ? { metrics: USAGE_EXTRAS[app.app_id] } : {}) });
  }

  let roomsDisabledAt = 0;
  let tickCount = 0;
  const random = prng(20_260_514);

  /** One business day of an app's calls between `fromHour` and `toHour` UTC. */
  const day = (appId: string, dayStart: number, count: number, endpoints: Endpoint[], fromHour: number, toHour: number, statusMix: Record<number, number>, seed: number, clip?: { from: number; to: number }) => {
    let from = dayStart + fromHour * HOUR;
    let to = dayStart + toHour * HOUR;
    if (clip) {
      from = Math.max(from, clip.from);
      to = Math.min(to, clip.to);
    }
    if (count <= 0 || to <= from) return;
    zoom.generateLogs(appId, { count, fromMs: from, toMs: to, endpoints, statusMix, seed });
  };

  /** Daily SCIM provisioning and the failing Rooms script over [from, to). */
  function ongoing(from: number, to: number): void {
    for (let d = startOfUtcDay(from); d < to; d += DAY) {
      const n = Math.floor(d / DAY);
      const clip = { from, to };
      const scimCount = isWeekend(d) ? 8 + (n % 5) : 45 + ((n * 7) % 30);
      day(APPS.scim.app_id, d, scimCount, SCIM_ENDPOINTS, 6, 20, { 200: 96, 404: 2, 409: 1, 429: 1 }, n, clip);
      const roomsCount = 12 + (n % 6);
      const before = { from, to: Math.min(to, roomsDisabledAt) };
      const after = { from: Math.max(from, roomsDisabledAt), to };
      day(APPS.rooms.app_id, d, roomsCount, ROOMS_ENDPOINTS, 7, 18, { 200: 1 }, n + 1000, before);
      day(APPS.rooms.app_id, d, roomsCount, ROOMS_ENDPOINTS, 7, 18, { 401: 1 }, n + 2000, after);
    }
  }

  return {
    get roomsDisabledAt() {
      return roomsDisabledAt;
    },
    seed(now) {
      const start = now - 30 * DAY;
      roomsDisabledAt = now - ROOMS_DISABLED_AGO_MS;
      ongoing(start, now);
      // A nightly job (02:00–02:20 UTC) that stopped 20 days ago.
      const lastReport = now - REPORTING_SILENT_FOR_MS;
      for (let d = startOfUtcDay(start); d < lastReport; d += DAY) {
        const n = Math.floor(d / DAY);
        day(APPS.reporting.app_id, d, 6 + (n % 4), REPORTING_ENDPOINTS, 2, 2.34, { 200: 1 }, n + 3000, { from: start, to: lastReport });
      }
      for (let d = startOfUtcDay(start); d < now; d += DAY) {
        const n = Math.floor(d / DAY);
        if (!isWeekend(d)) day(APPS.webinar.app_id, d, 3 + (n % 3), WEBINAR_ENDPOINTS, 13, 15, { 200: 1 }, n + 4000, { from: start, to: now });
      }
    },
    advance(fromMs, toMs) {
      // Beyond 60 days the history would be older than the longest read window anyway.
      ongoing(Math.max(fromMs, toMs - 60 * DAY), toMs);
    },
    tick(now) {
      tickCount += 1;
      const entries: ZoomCallLog[] = [];
      const scim = 1 + Math.floor(random() * 3);
      for (let i = 0; i < scim; i++) {
        const endpoint = SCIM_ENDPOINTS[Math.floor(random() * SCIM_ENDPOINTS.length)]!;
        entries.push({
          url_pattern: endpoint.url,
          time: String(now - Math.floor(random() * 2_000)),
          http_status: 200,
          method: endpoint.method,
          trace_id: `v=2.0;clid=sandbox;rid=live-scim-${tickCount}-${i}`,
        });
      }
      zoom.addLogs(APPS.scim.app_id, entries);
      let added = entries.length;
      // The Rooms script retries every so often, and fails.
      if (tickCount % 3 === 0) {
        const endpoint = ROOMS_ENDPOINTS[0]!;
        zoom.addLogs(APPS.rooms.app_id, [
          { url_pattern: endpoint.url, time: String(now), http_status: 401, method: endpoint.method, trace_id: `v=2.0;clid=sandbox;rid=live-rooms-${tickCount}` },
        ]);
        added += 1;
      }
      return added;
    },
  };
}

/** Adds the workspace's people to the Slack stand-in. */
export function addPeople(slack: FakeSlack): void {
  for (const person of PEOPLE) slack.addUser({ ...person.user, team_id: SANDBOX_TEAM });
}

export function personByHandle(handle: string): Person | undefined {
  const h = handle.replace(/^@/, '').toLowerCase();
  return PEOPLE.find((p) => p.handle === h);
}
