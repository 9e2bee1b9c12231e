/** The per-app lease on a real Redis: one holder at a time, kept alive while its work runs, freed by a dead holder's TTL. */
import type { Redis } from 'ioredis';
import { LeaseBusyError, withLease } from '../../src/platform/redis/lease';
import { dropPrefix, openRedis, uniquePrefix } from '../helpers/redis';
import { sleep } from '../helpers/polls';

const prefix = uniquePrefix('lease');
const key = (name: string) => `{${prefix}}:lease:${name}`;
let redis: Redis;

beforeAll(() => {
  redis = openRedis();
});
afterAll(async () => {
  redis.disconnect();
  await dropPrefix(prefix);
});

it('keeps the lease past its TTL while the work runs, and frees it after', async () => {
  let busy: unknown;
  await withLease(redis, key('long'), { ttlMs: 300, waitMs: 0 }, async () => {
    await sleep(1_000);
    // Three TTLs later the heartbeat still holds it: a second step is refused.
    busy = await withLease(redis, key('long'), { ttlMs: 300, waitMs: 0 }, async () => 'got in').catch((err: unknown) => err);
  });
  expect(busy).toBeInstanceOf(LeaseBusyError);
  expect(await redis.exists(key('long'))).toBe(0);
});

it('releases on failure too', async () => {
  await expect(withLease(redis, key('fails'), { ttlMs: 5_000, waitMs: 0 }, async () => { throw new Error('boom'); })).rejects.toThrow('boom');
  expect(await redis.exists(key('fails'))).toBe(0);
});

it('waits for a holder that died, until its TTL frees the lease', async () => {
  // A holder that crashed: set, never renewed, never released.
  await redis.set(key('dead'), 'crashed-holder', 'PX', 400);
  const got = await withLease(redis, key('dead'), { ttlMs: 5_000, waitMs: 3_000 }, async () => redis.get(key('dead')));
  expect(got).not.toBe('crashed-holder');
});

it('never releases a lease another holder has taken since', async () => {
  await withLease(redis, key('stolen'), { ttlMs: 5_000, waitMs: 0 }, async () => {
    // Our lease expired and someone else took it (forced here).
    await redis.set(key('stolen'), 'someone-else', 'PX', 5_000);
  });
  expect(await redis.get(key('stolen'))).toBe('someone-else');
});
