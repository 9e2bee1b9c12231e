/**
 * Usage aggregates and the incremental call-log read state (SPEC §4.3): what the poll job folds
 * from Zoom's call logs, and what `status`, `app`, the Home tab, the digest and the approvals read
 * of it. One store in three parts, so the page script and what feeds it stand apart from the
 * tables drawn from it:
 *  - usageKeys.ts: the key layout and its builders, and the units and types both sides share;
 *  - usageIngest.ts: the ingest write model (the per-app read lock, the page script and the read
 *    state it advances);
 *  - usageRead.ts: the read model (summaries, windows, daily and endpoint tables, counts since a
 *    time, the sample, the reads' health).
 * This module composes them into the one UsageStore that evidence owns and the others read through.
 */
import type { Redis } from 'ioredis';
import type { Keys } from '../../../platform/redis/keys';
import { createUsageIngest, type UsageIngest } from './usageIngest';
import { createUsageReads, type UsageReads } from './usageRead';

export interface UsageStore extends UsageReads, UsageIngest {}

export function createUsageStore(deps: { redis: Redis; keys: Keys }): UsageStore {
  return { ...createUsageReads(deps), ...createUsageIngest(deps) };
}
