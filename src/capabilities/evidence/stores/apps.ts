/**
 * Tracked apps and candidates. One hash per app (`{p}:app:<appId>`, flat string fields) plus the
 * set of tracked ids; candidates (created apps not tracked) in one hash per account. An untracked
 * app's keys and a candidates hash live UNTRACKED_TTL_MS; tracking an app makes its keys permanent.
 * Lifecycle transitions that must be atomic with a request (disable/enable/remove) go through
 * `transition`, a compare-and-set on `state`.
 */
import type { Redis } from 'ioredis';
import type { CandidateApp, LifecycleState, TrackedApp, ZoomUsageRecord } from '../rules/app';
import type { Keys } from '../../../platform/redis/keys';
import { bumpStatusEpoch, withStatusBump } from '../../../platform/redis/statusEpoch';
import { appUsageKeys } from './usageKeys';

/**
 * An untracked app's hash and usage are kept this long (ms), so tracking it again soon brings its
 * lifecycle (soak clock included) and history back; after that it starts afresh. Candidates of an
 * account are rewritten by each poll and kept as long: an account no longer polled (removed from
 * the config, or polled only on demand) drops them then.
 */
export const UNTRACKED_TTL_MS = 30 * 86_400_000;

const NUMERIC = new Set([
  'trackedAt', 'disabledAt', 'enabledAt', 'removedAt', 'goneAt', 'ownerSetAt', 'migratedAt',
]);

function toHash(app: Partial<TrackedApp>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(app)) {
    if (v === undefined || v === null) continue;
    out[k] = typeof v === 'boolean' ? (v ? '1' : '0') : String(v);
  }
  return out;
}

function fromHash(h: Record<string, string>): TrackedApp | null {
  if (!h.appId || !h.account || !h.state) return null;
  const app: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(h)) {
    if (NUMERIC.has(k)) app[k] = Number(v);
    else if (k === 'migrated') app[k] = v === '1';
    else app[k] = v;
  }
  return app as unknown as TrackedApp;
}

// Compare-and-set of the lifecycle state, plus the fields that go with the new state.
// KEYS[1] app hash; ARGV[1] expected state; ARGV[2..] field/value pairs. Returns 1 or 0.
const TRANSITION = `
if redis.call('HGET', KEYS[1], 'state') ~= ARGV[1] then return 0 end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1`;

export interface AppStore {
  /** Starts tracking (idempotent: an already tracked app keeps its state). Returns true when new. */
  track(app: Pick<TrackedApp, 'appId' | 'account' | 'name' | 'appType' | 'appStatus' | 'trackedBy'>, now: number): Promise<boolean>;
  /** Stops tracking; history (usage, audit) stays. Returns false when it was not tracked. */
  untrack(appId: string): Promise<boolean>;
  get(appId: string): Promise<TrackedApp | null>;
  /** All tracked apps, sorted by name. */
  list(): Promise<TrackedApp[]>;
  /** Updates descriptive fields (name, type, status, owner, migrated, goneAt…), never `state`. */
  update(appId: string, fields: Partial<Omit<TrackedApp, 'appId' | 'state'>>): Promise<void>;
  /** Atomically moves `from` → `to` with the given fields; false if the state was not `from`. */
  transition(appId: string, from: LifecycleState, to: LifecycleState, fields: Partial<TrackedApp>): Promise<boolean>;
  setCandidates(account: string, candidates: CandidateApp[]): Promise<void>;
  candidates(): Promise<CandidateApp[]>;
  /** Zoom's usage figures of tracked apps (`{p}:zoomusage:<appId>`, kept ZOOM_USAGE_TTL_MS after the last list). */
  setZoomUsage(appId: string, record: ZoomUsageRecord): Promise<void>;
  zoomUsage(appIds: string[]): Promise<Map<string, ZoomUsageRecord>>;
}

/** Zoom's usage figures of an app are dropped this long (ms) after the last list that carried them. */
export const ZOOM_USAGE_TTL_MS = 7 * 86_400_000;

export function createAppStore(redis: Redis, keys: Keys, accounts: string[]): AppStore {
  const appKey = (appId: string) => keys.k('app', appId);
  const trackedKey = keys.k('tracked');
  const candidatesKey = (account: string) => keys.k('candidates', account);

  return {
    async track(app, now) {
      const added = await redis.sadd(trackedKey, app.appId);
      const key = appKey(app.appId);
      // HSETNX keeps the lifecycle of an app tracked before (untrack keeps its hash).
      const multi = withStatusBump(redis.multi(), keys);
      // Tracked again: its kept hash and usage are permanent again.
      for (const k of [key, ...appUsageKeys(keys, app.appId)]) multi.persist(k);
      await multi
        .hsetnx(key, 'state', 'active')
        .hsetnx(key, 'trackedAt', String(now))
        .hsetnx(key, 'trackedBy', app.trackedBy)
        .hset(key, toHash({ appId: app.appId, account: app.account, name: app.name, appType: app.appType, appStatus: app.appStatus }))
        .hdel(candidatesKey(app.account), app.appId)
        .exec();
      return added === 1;
    },
    async untrack(appId) {
      // One MULTI: a track() in between could otherwise leave a tracked app with expiring keys.
      const multi = redis.multi().srem(trackedKey, appId);
      for (const k of [appKey(appId), ...appUsageKeys(keys, appId)]) multi.pexpire(k, UNTRACKED_TTL_MS);
      const res = await withStatusBump(multi, keys).exec();
      return res?.[0]?.[1] === 1;
    },
    async get(appId) {
      if (!(await redis.sismember(trackedKey, appId))) return null;
      return fromHash(await redis.hgetall(appKey(appId)));
    },
    async list() {
      const ids = await redis.smembers(trackedKey);
      if (ids.length === 0) return [];
      const pipe = redis.pipeline();
      for (const id of ids) pipe.hgetall(appKey(id));
      const rows = (await pipe.exec()) ?? [];
      return rows
        .map(([, h]) => fromHash((h ?? {}) as Record<string, string>))
        .filter((a): a is TrackedApp => a !== null)
        .sort((a, b) => a.name.localeCompare(b.name) || a.appId.localeCompare(b.appId));
    },
    async update(appId, fields) {
      const { state: _ignored, ...rest } = fields as Partial<TrackedApp>;
      const hash = toHash(rest);
      if (Object.keys(hash).length) await withStatusBump(redis.multi().hset(appKey(appId), hash), keys).exec();
    },
    async transition(appId, from, to, fields) {
      const pairs = Object.entries(toHash({ ...fields, state: to })).flat();
      const moved = (await redis.eval(TRANSITION, 1, appKey(appId), from, ...pairs)) === 1;
      if (moved) await bumpStatusEpoch(redis, keys);
      return moved;
    },
    async setCandidates(account, candidates) {
      const key = candidatesKey(account);
      const tracked = new Set(await redis.smembers(trackedKey));
      const fresh = candidates.filter((c) => !tracked.has(c.appId));
      const multi = withStatusBump(redis.multi(), keys).del(key);
      if (fresh.length) multi.hset(key, Object.fromEntries(fresh.map((c) => [c.appId, JSON.stringify(c)]))).pexpire(key, UNTRACKED_TTL_MS);
      await multi.exec();
    },
    async setZoomUsage(appId, record) {
      await redis.set(keys.k('zoomusage', appId), JSON.stringify(record), 'PX', ZOOM_USAGE_TTL_MS);
    },
    async zoomUsage(appIds) {
      const out = new Map<string, ZoomUsageRecord>();
      if (!appIds.length) return out;
      const pipe = redis.pipeline();
      for (const id of appIds) pipe.get(keys.k('zoomusage', id));
      const rows = (await pipe.exec()) ?? [];
      rows.forEach(([, raw], i) => {
        if (typeof raw !== 'string') return;
        try {
          const record = JSON.parse(raw) as ZoomUsageRecord;
          if (record && typeof record.usage === 'object') out.set(appIds[i]!, record);
        } catch {
          // A damaged record is as good as none: the next list rewrites it.
        }
      });
      return out;
    },
    async candidates() {
      const pipe = redis.pipeline();
      for (const account of accounts) pipe.hvals(candidatesKey(account));
      const rows = (await pipe.exec()) ?? [];
      return rows
        .flatMap(([, vals]) => (vals as string[] | null) ?? [])
        .map((v) => JSON.parse(v) as CandidateApp)
        .sort((a, b) => a.name.localeCompare(b.name));
    },
  };
}
