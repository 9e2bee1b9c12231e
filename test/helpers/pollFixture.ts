/** The fake Zoom server and Redis connection that the poll tests share, opened and closed once per file. */
import { Redis } from 'ioredis';
import { startFakeZoom, type FakeZoom } from '../fakes/zoomServer';
import { dropPrefix } from './env';

export interface PollFixture {
  fake: FakeZoom;
  redis: Redis;
}

export async function openPollFixture(clock: () => number): Promise<PollFixture> {
  return {
    fake: await startFakeZoom({ clock }),
    redis: new Redis('redis://127.0.0.1:6379', { enableAutoPipelining: true, maxRetriesPerRequest: 2 }),
  };
}

/** Drops every key of the file's prefixes, then closes both. */
export async function closePollFixture(fixture: PollFixture, filePrefix: string): Promise<void> {
  await dropPrefix(filePrefix, undefined, { family: true });
  await fixture.redis.quit();
  await fixture.fake.close();
}
