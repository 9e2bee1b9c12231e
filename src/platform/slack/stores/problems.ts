/**
 * Slack API problems, as `/zoomjwt status` and the digest show them:
 *  - `{p}:slackproblems` hash `method|channel` → the last problem of that call (JSON, with how
 *    many times it was seen);
 *  - `{p}:slackok` hash `method|channel` → when that call last worked (epoch ms).
 * A problem counts until a later success of the same call clears it.
 */
import type { Redis } from 'ioredis';
import type { Keys } from '../../redis/keys';
import { statusEpochKey, withStatusBump } from '../../redis/statusEpoch';

/** Records a success; moves the status epoch only when a problem was on record for that method. */
const RECORD_OK = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then redis.call('INCR', KEYS[3]) end
return 1`;

export interface SlackProblem {
  method: string;
  error: string;
  channel?: string;
  /** A sentence for people. */
  sentence: string;
  at: number;
  count: number;
}

export interface SlackHealth {
  /** Problems recorded in the last `withinMs` that no later success of the same method cleared. */
  problems(now: number, withinMs?: number): Promise<SlackProblem[]>;
}

export function createSlackHealth(redis: Redis, keys: Keys): SlackHealth & {
  record(problem: Omit<SlackProblem, 'count'>): Promise<void>;
  ok(method: string, channel: string | undefined, at: number): Promise<void>;
} {
  const problemsKey = keys.k('slackproblems');
  const okKey = keys.k('slackok');
  const field = (method: string, channel?: string) => `${method}|${channel ?? ''}`;
  return {
    async record(problem) {
      const f = field(problem.method, problem.channel);
      const previous = await redis.hget(problemsKey, f);
      const count = previous ? ((JSON.parse(previous) as SlackProblem).count ?? 0) + 1 : 1;
      await withStatusBump(redis.multi().hset(problemsKey, f, JSON.stringify({ ...problem, count })), keys).exec();
    },
    async ok(method, channel, at) {
      // Only a success that clears a recorded problem changes what status shows.
      const f = field(method, channel);
      await redis.eval(RECORD_OK, 3, okKey, problemsKey, statusEpochKey(keys), f, String(at));
    },
    async problems(now, withinMs = 86_400_000) {
      const [problems, oks] = await Promise.all([redis.hgetall(problemsKey), redis.hgetall(okKey)]);
      return Object.entries(problems)
        .map(([f, v]) => ({ f, p: JSON.parse(v) as SlackProblem }))
        .filter(({ f, p }) => now - p.at <= withinMs && Number(oks[f] ?? 0) < p.at)
        .map(({ p }) => p)
        .sort((a, b) => b.at - a.at);
    },
  };
}
