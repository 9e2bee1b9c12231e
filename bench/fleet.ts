/**
 * The benchmark's Zoom side: two accounts on one fake Zoom. `bulk` holds the ingest apps (the
 * million entries), `fleet` the rest of the 50 tracked apps that `/zoomjwt status` shows.
 */
import { writeFileSync } from 'node:fs';
import type { FakeZoom } from '../dev/fakes/zoomServer';

export const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;

export const ACCOUNTS = [
  { name: 'bulk', accountId: 'acct-bench-bulk', clientId: 'client-bench-bulk', clientSecret: 'bench-secret-bulk-4f1c9a' },
  { name: 'fleet', accountId: 'acct-bench-fleet', clientId: 'client-bench-fleet', clientSecret: 'bench-secret-fleet-8b2e7d' },
] as const;

/** A realistic mix: SCIM provisioning, meetings, users, reports, webinars; ids that normalise away. */
export const ENDPOINTS: Array<{ method: string; url: string; weight: number }> = [
  { method: 'GET', url: 'https://api.zoom.us/v2/scim2/Users?filter=userName%20eq%20%22ann%40example.com%22', weight: 20 },
  { method: 'PATCH', url: 'https://api.zoom.us/v2/scim2/Users/KdYKjnimT4KPd8FFgQt9FQ', weight: 15 },
  { method: 'POST', url: 'https://api.zoom.us/v2/scim2/Users', weight: 5 },
  { method: 'POST', url: 'https://api.zoom.us/v2/users/ann@example.com/meetings', weight: 15 },
  { method: 'GET', url: 'https://api.zoom.us/v2/meetings/85746065432', weight: 15 },
  { method: 'DELETE', url: 'https://api.zoom.us/v2/meetings/85746065432', weight: 3 },
  { method: 'GET', url: 'https://api.zoom.us/v2/users/bob@example.com', weight: 10 },
  { method: 'GET', url: 'https://api.zoom.us/v2/report/daily', weight: 2 },
  { method: 'GET', url: 'https://api.zoom.us/v2/past_meetings/85746065432/participants', weight: 5 },
  { method: 'POST', url: 'https://api.zoom.us/v2/users/ann@example.com/webinars', weight: 3 },
  { method: 'GET', url: 'https://api.zoom.us/v2/users/ann@example.com/recordings?from=2024-01-01', weight: 4 },
  { method: 'PATCH', url: 'https://api.zoom.us/v2/users/KdYKjnimT4KPd8FFgQt9FQ/settings', weight: 3 },
];
export const STATUS_MIX = { 200: 90, 201: 4, 204: 2, 404: 2, 429: 1, 500: 1 };

export const bulkAppId = (i: number) => `benchBulk${String(i + 1).padStart(2, '0')}`;
export const fleetAppId = (i: number) => `benchFleet${String(i + 1).padStart(2, '0')}`;

export interface FleetPlan {
  bulkApps: number;
  bulkEntries: number;
  fleetApps: number;
  fleetEntriesPerApp: number;
  /** Newest backfill entry time (epoch ms): new entries go after it. */
  backfillTop: number;
}

/** Registers accounts and apps and generates the 30 days of call logs; returns the plan. */
export function populate(zoom: FakeZoom, o: { bulkApps: number; bulkEntries: number; fleetApps: number; fleetEntriesPerApp: number }, now: number): FleetPlan {
  for (const a of ACCOUNTS) zoom.addAccount({ accountId: a.accountId, clientId: a.clientId, clientSecret: a.clientSecret });
  // Inside `duration=30` for the whole run (it lasts well under an hour), ending an hour ago so
  // "new" entries can be added after the backfill without being in the fake's future.
  const fromMs = now - 30 * DAY_MS + HOUR_MS;
  const backfillTop = now - HOUR_MS;
  for (let i = 0; i < o.bulkApps; i++) {
    zoom.addApp(ACCOUNTS[0].accountId, { app_id: bulkAppId(i), app_name: `Bulk JWT app ${i + 1}`, app_type: 'JWT' });
    zoom.generateLogs(bulkAppId(i), { count: Math.round(o.bulkEntries / o.bulkApps), fromMs, toMs: backfillTop, endpoints: ENDPOINTS, statusMix: STATUS_MIX, seed: 1 + i });
  }
  for (let i = 0; i < o.fleetApps; i++) {
    zoom.addApp(ACCOUNTS[1].accountId, { app_id: fleetAppId(i), app_name: `Fleet integration ${i + 1}`, app_type: 'JWT' });
    // A third of the fleet went quiet a week ago: status shows both kinds of entry.
    const to = i % 3 === 0 ? now - 8 * DAY_MS : backfillTop;
    zoom.generateLogs(fleetAppId(i), { count: o.fleetEntriesPerApp, fromMs, toMs: to, endpoints: ENDPOINTS.slice(0, 4 + (i % 8)), statusMix: STATUS_MIX, seed: 100 + i });
  }
  return { ...o, backfillTop };
}

/** The ZOOM_ACCOUNTS_FILE for the app, pointing both accounts at the fake. */
export function writeAccountsFile(path: string, apiUrl: string): void {
  writeFileSync(path, JSON.stringify(ACCOUNTS.map((a) => ({ ...a, apiUrl }))));
}
