/**
 * Poll health per Zoom account (SPEC §4.3: "a failing poll is never silent"), one hash
 * `{p}:health:<account>`. Written by the poll job, read by `status` and the digest.
 */
import type { Redis } from 'ioredis';
import type { Keys } from '../../../platform/redis/keys';
import { withStatusBump } from '../../../platform/redis/statusEpoch';

export interface PollHealth {
  account: string;
  /** Epoch ms of the last poll start / last fully successful poll. */
  lastStart?: number;
  lastSuccess?: number;
  /** A sentence for people (from ZoomError.explain()), never a stack or a secret. */
  lastError?: string;
  lastErrorAt?: number;
  /** ZoomError kind, or 'internal' for anything else. */
  lastErrorKind?: string;
  /** API requests spent by the last poll, and since the health record began. */
  requests: number;
  requestsTotal: number;
  /** Entries folded by the last poll, and in all. */
  ingested: number;
  ingestedTotal: number;
  /** Daily-limit pause end (epoch ms), while the last poll was paused. */
  pausedUntil?: number;
  /** Polls in a row that ended with an error; 0 when the last poll worked. */
  consecutiveFailures: number;
  /** When the first failing poll of the current streak was recorded (epoch ms). */
  failingSince?: number;
}

export interface PollOutcome {
  requests: number;
  ingested: number;
  /** Absent when the poll fully succeeded. */
  error?: { sentence: string; kind: string };
  pausedUntil?: number;
}

export interface HealthStore {
  get(account: string): Promise<PollHealth>;
  getAll(accounts: string[]): Promise<PollHealth[]>;
  recordStart(account: string, now: number): Promise<void>;
  recordResult(account: string, now: number, outcome: PollOutcome): Promise<void>;
  /** A counter that grows by one per call: which app a poll reads first (rotation). */
  nextTurn(account: string): Promise<number>;
}

const NUMBERS = ['lastStart', 'lastSuccess', 'lastErrorAt', 'pausedUntil', 'failingSince'] as const;

function parse(account: string, h: Record<string, string>): PollHealth {
  const out: PollHealth = {
    account,
    requests: Number(h.requests ?? 0) || 0,
    requestsTotal: Number(h.requestsTotal ?? 0) || 0,
    ingested: Number(h.ingested ?? 0) || 0,
    ingestedTotal: Number(h.ingestedTotal ?? 0) || 0,
    consecutiveFailures: Number(h.consecutiveFailures ?? 0) || 0,
  };
  for (const f of NUMBERS) {
    const v = h[f];
    if (v !== undefined && v !== '' && Number.isFinite(Number(v))) out[f] = Number(v);
  }
  if (h.lastError) out.lastError = h.lastError;
  if (h.lastErrorKind) out.lastErrorKind = h.lastErrorKind;
  return out;
}

export function createHealthStore(deps: { redis: Redis; keys: Keys }): HealthStore {
  const { redis, keys } = deps;
  const key = (account: string) => keys.k('health', account);

  async function getAll(accounts: string[]): Promise<PollHealth[]> {
    if (accounts.length === 0) return [];
    const pipe = redis.pipeline();
    for (const a of accounts) pipe.hgetall(key(a));
    const rows = (await pipe.exec()) ?? [];
    return accounts.map((a, i) => {
      const [err, h] = rows[i] ?? [null, {}];
      if (err) throw err;
      return parse(a, (h ?? {}) as Record<string, string>);
    });
  }

  return {
    async get(account) {
      return (await getAll([account]))[0] ?? parse(account, {});
    },
    getAll,
    async nextTurn(account) {
      return (await redis.hincrby(key(account), 'turn', 1)) - 1;
    },
    async recordStart(account, now) {
      await withStatusBump(redis.multi().hset(key(account), 'lastStart', String(now)), keys).exec();
    },
    async recordResult(account, now, outcome) {
      const k = key(account);
      const multi = withStatusBump(redis.multi(), keys)
        .hset(k, { requests: String(outcome.requests), ingested: String(outcome.ingested) })
        .hincrby(k, 'requestsTotal', outcome.requests)
        .hincrby(k, 'ingestedTotal', outcome.ingested);
      if (outcome.error) {
        multi
          .hset(k, { lastError: outcome.error.sentence, lastErrorAt: String(now), lastErrorKind: outcome.error.kind })
          .hincrby(k, 'consecutiveFailures', 1)
          // Kept while failures continue: the "polling has failed for an hour" alert reads it.
          .hsetnx(k, 'failingSince', String(now));
      } else {
        multi.hset(k, { lastSuccess: String(now), consecutiveFailures: '0' }).hdel(k, 'failingSince');
      }
      if (outcome.pausedUntil !== undefined) multi.hset(k, 'pausedUntil', String(outcome.pausedUntil));
      else multi.hdel(k, 'pausedUntil');
      const res = await multi.exec();
      const failed = res?.find(([err]) => err);
      if (failed?.[0]) throw failed[0];
    },
  };
}
