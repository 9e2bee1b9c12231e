/**
 * The idle hour: what polling 10 idle apps costs in Zoom API requests over one hour at
 * POLL_EVERY=15m (polls at 0, 15, 30 and 45 minutes), with Zoom's usage fields on the list
 * (changelog 2026-11-09) and without them (today's polling). Then 1,000 new calls per app and one
 * poll, with the fields: requests against the minimum (1 list + 11 pages per app).
 *
 * It runs in the bench process on a simulated clock (an hour in well under a second): its own fake
 * Zoom, the real client, poll and stores, and the bench's Redis under `<prefix>-idle-*`, dropped
 * at the end. Two profiles of "idle": quiet apps (a few calls an hour before they stopped: one page
 * per read) and apps busy until they stopped (about 170 calls in the 10 minutes before their
 * newest: the 10-minute overlap makes every read two pages, as the bulk apps' idle poll above).
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ZoomAccount } from '../src/config';
import { pollAccount } from '../src/capabilities/evidence/jobs/pollAccount';
import { createLogger } from '../src/log';
import { createAppStore } from '../src/capabilities/evidence/stores/apps';
import { createHealthStore } from '../src/capabilities/evidence/stores/health';
import { createKeys } from '../src/platform/redis/keys';
import { createUsageStore } from '../src/capabilities/evidence/stores/usage';
import { createZoomClient } from '../src/platform/zoom/client';
import { startFakeZoom, type MetricsMode } from '../dev/fakes/zoomServer';
import { dropPrefix } from './redisStats';

const MIN = 60_000;
const DAY = 86_400_000;
const APPS = 10;
const NEW_PER_APP = 1_000;

export interface IdleHourResult {
  apps: number;
  poll_every: '15m';
  /** Requests in one idle hour, per profile: without the usage fields (today) and with them. */
  quiet: { today: number; with_fields: number; call_log_requests_with_fields: number; get_app_with_fields: number };
  busy_until_idle: { today: number; with_fields: number };
  /** With the fields, one poll after 1,000 new calls per app. */
  after_new: { new_entries: number; ingested: number; requests: number; minimum: number; ratio_to_min: number };
}

interface Run {
  hour: string[];
  after?: { requests: string[]; ingested: number };
}

async function runOne(redis: Redis, prefix: string, mode: MetricsMode, profile: 'quiet' | 'busy', withNew: boolean): Promise<Run> {
  let now = Math.floor(Date.now() / MIN) * MIN;
  const clock = () => now;
  const fake = await startFakeZoom({ clock });
  const { log } = createLogger({ level: 'silent', secrets: [] });
  const keys = createKeys(prefix);
  try {
    const account: ZoomAccount = { name: 'idle', accountId: 'acc-idle', clientId: 'cid-idle', clientSecret: `s-${randomBytes(8).toString('hex')}`, apiUrl: fake.apiUrl };
    fake.addAccount({ accountId: account.accountId, clientId: account.clientId, clientSecret: account.clientSecret, metrics: mode });
    const apps = createAppStore(redis, keys, [account.name]);
    const usage = createUsageStore({ redis, keys });
    const health = createHealthStore({ redis, keys });
    const zoom = createZoomClient({ account, oauthUrl: fake.oauthUrl, redis, keys, log, clock, addSecret: () => undefined, timeoutMs: 10_000 });
    const ids = Array.from({ length: APPS }, (_, i) => `idleapp${i}`);
    for (const [i, id] of ids.entries()) {
      fake.addApp(account.accountId, { app_id: id, app_name: `Idle ${i}` });
      if (profile === 'quiet') fake.generateLogs(id, { count: 2_000, fromMs: now - 20 * DAY, toMs: now - 2 * 60 * MIN, seed: i + 1 });
      else fake.generateLogs(id, { count: 1_000, fromMs: now - 60 * MIN - 60 * MIN, toMs: now - 60 * MIN, seed: i + 1 });
      await apps.track({ appId: id, account: account.name, name: `Idle ${i}`, trackedBy: 'U0BENCH' }, now);
    }
    const poll = () => pollAccount({ account: account.name, zoom, apps, usage, health, clock, log });
    // The backfill, then a quarter of an hour later the measured hour begins.
    await poll();
    now += 15 * MIN;
    const before = fake.requests.length;
    for (let i = 0; i < 4; i++) {
      await poll();
      now += 15 * MIN;
    }
    const run: Run = { hour: fake.requests.slice(before) };
    if (withNew) {
      for (const [i, id] of ids.entries()) fake.generateLogs(id, { count: NEW_PER_APP, fromMs: now - 14 * MIN, toMs: now - 1_000, seed: 100 + i });
      const mark = fake.requests.length;
      const r = await poll();
      run.after = { requests: fake.requests.slice(mark), ingested: r.ingested };
    }
    return run;
  } finally {
    await fake.close();
    await dropPrefix(redis, prefix);
  }
}

const isLogs = (l: string) => l.includes('/api_call_logs');
const isGetApp = (l: string) => /^GET \/marketplace\/apps\/[^/?]+$/.test(l);

export async function runIdleHour(redis: Redis, prefix: string): Promise<IdleHourResult> {
  const quietToday = await runOne(redis, `${prefix}-idle-qt`, 'absent', 'quiet', false);
  const quietFields = await runOne(redis, `${prefix}-idle-qf`, 'on', 'quiet', true);
  const busyToday = await runOne(redis, `${prefix}-idle-bt`, 'absent', 'busy', false);
  const busyFields = await runOne(redis, `${prefix}-idle-bf`, 'on', 'busy', false);
  const after = quietFields.after!;
  const minimum = 1 + APPS * (Math.ceil(NEW_PER_APP / 100) + 1);
  return {
    apps: APPS,
    poll_every: '15m',
    quiet: {
      today: quietToday.hour.length,
      with_fields: quietFields.hour.length,
      call_log_requests_with_fields: quietFields.hour.filter(isLogs).length,
      get_app_with_fields: quietFields.hour.filter(isGetApp).length,
    },
    busy_until_idle: { today: busyToday.hour.length, with_fields: busyFields.hour.length },
    after_new: {
      new_entries: APPS * NEW_PER_APP,
      ingested: after.ingested,
      requests: after.requests.length,
      minimum,
      ratio_to_min: Math.round((after.requests.length / minimum) * 1000) / 1000,
    },
  };
}
