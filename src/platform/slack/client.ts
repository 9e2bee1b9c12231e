/**
 * The worker-side Slack Web API client. Every call goes through `apiCall`, so one override sees
 * them all: failures are classified once, logged as one clear line, counted in metrics and
 * recorded in Redis, where `/zoomjwt status` and the digest show them. A problem with the
 * digest channel or the token is never silent.
 */
import { webApi } from '@slack/bolt';
import type { Redis } from 'ioredis';
import type { Logger } from '../../log';
import type { Metrics } from '../../metrics';
import type { Keys } from '../redis/keys';
import { statusEpochKey, withStatusBump } from '../redis/statusEpoch';
import type { Clock } from '../../kernel/clock';

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

/** Sentences for the errors an operator can fix; anything else is reported by its code. */
const EXPLAIN: Record<string, string> = {
  channel_not_found: 'Slack cannot find channel {channel} (wrong id, or a private channel the bot is not in)',
  not_in_channel: 'the bot is not in channel {channel}: invite it with /invite @zoomjwt',
  is_archived: 'channel {channel} is archived',
  invalid_auth: 'Slack refused the bot token (invalid_auth): reinstall the app and update SLACK_BOT_TOKEN',
  token_revoked: 'the bot token was revoked: reinstall the app and update SLACK_BOT_TOKEN',
  account_inactive: 'the bot token belongs to a deactivated account or app',
  missing_scope: 'the Slack app lacks a scope for {method}: reinstall it from manifest.yml',
  ratelimited: 'Slack rate-limited {method}; it will be retried',
  plan_upgrade_required: 'user groups need a paid Slack plan: list approvers as user ids',
};

export function explainSlackError(method: string, error: string, channel?: string): string {
  const template = EXPLAIN[error] ?? `Slack answered ${error} to ${method}`;
  return template.replace('{channel}', channel ?? '?').replace('{method}', method);
}

/** Errors that say something about the installation rather than one call's arguments. */
const REPORTABLE = new Set(Object.keys(EXPLAIN).concat(['http_error', 'request_error']));

function classify(err: unknown): string {
  const e = err as { code?: string; data?: { error?: string }; statusCode?: number };
  if (e.code === webApi.ErrorCode.PlatformError) return e.data?.error ?? 'unknown_error';
  if (e.code === webApi.ErrorCode.RateLimitedError) return 'ratelimited';
  if (e.code === webApi.ErrorCode.HTTPError) return 'http_error';
  if (e.code === webApi.ErrorCode.RequestError) return 'request_error';
  return 'unknown_error';
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

export function createSlackClient(deps: {
  token: string;
  options: webApi.WebClientOptions;
  redis: Redis;
  keys: Keys;
  log: Logger;
  metrics: Metrics;
  clock: Clock;
}): { client: webApi.WebClient; health: SlackHealth } {
  const health = createSlackHealth(deps.redis, deps.keys);
  const log = deps.log.child({ component: 'slack-api' });

  class InstrumentedWebClient extends webApi.WebClient {
    override async apiCall(method: string, options?: Record<string, unknown>): Promise<webApi.WebAPICallResult> {
      const channel = typeof options?.channel === 'string' ? options.channel : undefined;
      try {
        const result = await super.apiCall(method, options);
        if (method.startsWith('chat.')) void health.ok(method, channel, deps.clock()).catch(() => undefined);
        return result;
      } catch (err) {
        const error = classify(err);
        deps.metrics.slackApiErrors.inc({ method, error });
        const sentence = explainSlackError(method, error, channel);
        const retryAfter = (err as { retryAfter?: number }).retryAfter;
        log.warn({ method, error, channel, ...(retryAfter ? { retryAfterS: retryAfter } : {}) }, sentence);
        if (REPORTABLE.has(error)) {
          await health.record({ method, error, ...(channel ? { channel } : {}), sentence, at: deps.clock() }).catch(() => undefined);
        }
        throw err;
      }
    }
  }

  return { client: new InstrumentedWebClient(deps.token, deps.options), health };
}
