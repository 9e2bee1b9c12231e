/**
 * The test Redis: unique key prefixes, connections of a test's own, and clearing up after them.
 * Never FLUSHDB: other test files share the server, each under its own prefix.
 */
import { randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';

/** The Redis every test file shares (baseEnv's REDIS_URL). */
export const REDIS_URL = 'redis://127.0.0.1:6379';

export function uniquePrefix(name: string): string {
  return `zjt-test-${name}-${randomBytes(4).toString('hex')}`;
}

/** A connection of the test's own to the shared Redis; the caller closes it. */
export function openRedis(options: RedisOptions = {}): Redis {
  return new Redis(REDIS_URL, options);
}

/** A short-lived connection for one clean-up or count, closed by `use` returning. */
async function briefly<T>(use: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    return await use(redis);
  } finally {
    redis.disconnect();
  }
}

/** Every batch of keys matching `pattern`, by SCAN (never KEYS: the server is shared). */
async function* scan(redis: Redis, pattern: string): AsyncGenerator<string[]> {
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (found.length) yield found;
  } while (cursor !== '0');
}

/**
 * Deletes every key of a prefix. `family: true` also takes every prefix that starts with it
 * (files that make one per test).
 */
export async function dropPrefix(prefix: string, options: { family?: boolean } = {}): Promise<void> {
  await briefly(async (redis) => {
    for await (const found of scan(redis, options.family ? `{${prefix}*` : `{${prefix}}*`)) await redis.unlink(...found);
  });
}

/** How many keys the prefix holds (each counted once, though SCAN may return one twice). */
export async function countKeys(prefix: string): Promise<number> {
  return briefly(async (redis) => {
    const keys = new Set<string>();
    for await (const found of scan(redis, `{${prefix}}*`)) for (const key of found) keys.add(key);
    return keys.size;
  });
}
