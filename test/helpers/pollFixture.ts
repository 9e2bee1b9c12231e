/** The fake Zoom server and Redis connection that the poll tests share, opened and closed once per file. */
import type { Redis } from 'ioredis';
import { startFakeZoom, type FakeZoom } from '../../dev/fakes/zoomServer';
import type { UsageStore } from '../../src/capabilities/evidence/stores/usage';
import { dropPrefix, openRedis } from './redis';

export interface PollFixture {
  fake: FakeZoom;
  redis: Redis;
}

export async function openPollFixture(clock: () => number): Promise<PollFixture> {
  return {
    fake: await startFakeZoom({ clock }),
    redis: openRedis({ enableAutoPipelining: true, maxRetriesPerRequest: 2 }),
  };
}

/** Drops every key of the file's prefixes, then closes both. */
export async function closePollFixture(fixture: PollFixture, filePrefix: string): Promise<void> {
  await dropPrefix(filePrefix, { family: true });
  await fixture.redis.quit();
  await fixture.fake.close();
}

/**
 * Records a complete, clean read of an app's call logs that found nothing (what a poll of an app
 * with no calls leaves), without asking Zoom: a removal needs one (SPEC §4.3).
 */
export async function recordCleanRead(usage: UsageStore, appId: string, now: number): Promise<void> {
  const lock = await usage.acquireReadLock(appId);
  if (lock === null) throw new Error(`recordCleanRead: the read lock of ${appId} is taken`);
  try {
    await usage.foldPage({
      appId, entries: [], cutoff: 0, firstOfAttempt: true, nextPageToken: '', duration: 30, now, lockToken: lock,
      ordered: true, heldBack: 0, unreadable: 0,
    });
  } finally {
    await usage.releaseReadLock(appId, lock);
  }
}
