/**
 * What the Home tab keeps, under `{p}:home:`:
 *  - `visitors` sorted set user → when they last opened the tab (epoch ms);
 *  - `epoch` hash user → the dashboard epoch read before the data of their last publish;
 *  - `at` hash user → when that publish happened (epoch ms);
 *  - `page` hash user → the page of the app table they are on.
 */
import type { Redis } from 'ioredis';
import type { Keys } from '../../../platform/redis/keys';

export interface HomeStore {
  /** `userId` opened the tab at `now`. */
  addVisitor(userId: string, now: number): Promise<void>;
  /** Forgets the visitors who last came before `since`, and lists the others. */
  visitors(since: number): Promise<string[]>;
  /** `userId`'s dashboard was published at `now`, built after reading `epoch`. */
  published(userId: string, epoch: string, now: number): Promise<void>;
  /** Per visitor (in order): the epoch and the time of their last publish, null where none. */
  lastPublished(visitors: string[]): Promise<{ epochs: Array<string | null>; ats: Array<string | null> }>;
  /** The page `userId` is on (0 when none). */
  page(userId: string): Promise<number>;
  setPage(userId: string, page: number): Promise<void>;
}

export function createHomeStore(redis: Redis, keys: Keys): HomeStore {
  const visitorsKey = keys.k('home', 'visitors');
  const epochKey = keys.k('home', 'epoch');
  const atKey = keys.k('home', 'at');
  const pageKey = keys.k('home', 'page');
  return {
    async addVisitor(userId, now) {
      await redis.zadd(visitorsKey, now, userId);
    },
    async visitors(since) {
      const [, visitors] = await Promise.all([
        redis.zremrangebyscore(visitorsKey, '-inf', `(${since}`),
        redis.zrangebyscore(visitorsKey, since, '+inf'),
      ]);
      return visitors;
    },
    async published(userId, epoch, now) {
      await redis.multi().hset(epochKey, userId, epoch).hset(atKey, userId, String(now)).exec();
    },
    async lastPublished(visitors) {
      const [epochs, ats] = await Promise.all([redis.hmget(epochKey, ...visitors), redis.hmget(atKey, ...visitors)]);
      return { epochs, ats };
    },
    async page(userId) {
      return Number((await redis.hget(pageKey, userId)) ?? 0) || 0;
    },
    async setPage(userId, page) {
      await redis.hset(pageKey, userId, String(page));
    },
  };
}
