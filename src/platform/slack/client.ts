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
import type { Clock } from '../../kernel/clock';
import { createSlackHealth, type SlackHealth } from './stores/problems';


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
