/**
 * The Bolt app: HTTP receiver (fed by our own server through the guard) or Socket Mode when an
 * app-level token is configured. Listeners are registered by the features that own them.
 */
import { App, HTTPReceiver, LogLevel, type webApi } from '@slack/bolt';
import type { Config } from '../../config';
import type { Logger } from '../../log';
import type { Metrics } from '../../metrics';
import { boltLogger } from './boltLogger';
import { BODY_LIMIT_BYTES, type Installation } from './guard';
import { ACTION, COMMAND, HOME_ACTION, REQUEST_ACTION, VIEW } from './ids';
import type { SlackTransport } from './transport';

const KNOWN_ACTIONS = new Set<string>([...Object.values(ACTION), ...Object.values(REQUEST_ACTION), ...Object.values(HOME_ACTION)]);
const KNOWN_VIEWS = new Set<string>(Object.values(VIEW));

/**
 * Payloads no listener handles (a button of another app's message, a stale custom action id, a
 * modal we never opened, another slash command) are acknowledged at once and dropped. Without
 * this Bolt would hold each one for its 3-second timeout and then answer 404.
 */
function acknowledgeUnhandled(app: App): void {
  app.use(async ({ body, ack, next }) => {
    const b = body as { type?: string; command?: string; actions?: Array<{ action_id?: string }>; view?: { callback_id?: string } };
    const handled =
      b.command !== undefined
        ? b.command === COMMAND
        : b.type === 'block_actions'
          ? (b.actions ?? []).some((a) => KNOWN_ACTIONS.has(String(a.action_id)))
          : b.type === 'view_submission'
            ? KNOWN_VIEWS.has(String(b.view?.callback_id))
          : b.type === undefined || b.type === 'event_callback' || b.type === 'url_verification' || b.type === 'app_rate_limited';
    if (handled || !ack) {
      await next();
      return;
    }
    await (ack as (msg?: unknown) => Promise<void>)(
      b.command !== undefined ? { response_type: 'ephemeral', text: `This app only answers ${COMMAND}.` } : undefined,
    );
  });
}

export interface SlackAppHandle {
  app: App;
  /** Present in HTTP mode: the listener our server mounts on POST /slack/events. */
  requestListener?: HTTPReceiver['requestListener'];
  socketMode: boolean;
}

/**
 * Options shared by Bolt's client and ours: no client-side retries, so a retry can never
 * double-post; `transport` carries every Web API call and Bolt's `respond`. The client logs
 * (warnings Slack returns, a missing fallback text…) through pino, never its own console logger.
 */
export function slackClientOptions(config: Config, transport: SlackTransport, log: Logger): webApi.WebClientOptions {
  return {
    logger: boltLogger(log, 'slack-web-api'),
    slackApiUrl: config.slack.apiUrl,
    fetch: transport.fetch,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: 10_000,
  };
}

export function createSlackApp(deps: {
  config: Config;
  log: Logger;
  metrics: Metrics;
  botUserId: string;
  botId: string;
  /** The installed workspace (and Grid org), for Socket Mode's workspace check. */
  install?: () => Installation;
  transport: SlackTransport;
}): SlackAppHandle {
  const { config, log } = deps;
  const logger = boltLogger(log);
  const common = {
    token: config.slack.botToken,
    // Given both, Bolt skips its own auth.test; main.ts has already made that call.
    botId: deps.botId,
    botUserId: deps.botUserId,
    logger,
    logLevel: LogLevel.WARN,
    clientOptions: slackClientOptions(config, deps.transport, log),
    // A listener that throws must not turn into an unhandled rejection; it is logged here.
    extendedErrorHandler: false,
    // No listener reads Bolt's conversation store; skipping it saves a lookup per request.
    convoStore: false,
  } as const;

  if (config.slack.appToken) {
    const app = new App({ ...common, appToken: config.slack.appToken, socketMode: true });
    // Socket Mode bypasses our HTTP guard; the workspace check moves here.
    app.use(async ({ body, next }) => {
      const b = body as {
        team_id?: string; team?: { id?: string } | null; user?: { team_id?: string };
        enterprise_id?: string; enterprise?: { id?: string } | null;
      };
      const team = b.team_id || b.team?.id || b.user?.team_id;
      const enterprise = b.enterprise_id || b.enterprise?.id;
      const installed = deps.install?.() ?? {};
      const sameOrg = Boolean(installed.enterpriseId && enterprise === installed.enterpriseId);
      if ((installed.teamId && team && team !== installed.teamId && !sameOrg) || (installed.enterpriseId && enterprise && !sameOrg)) {
        log.info({ team, enterprise }, 'slack request from another workspace refused');
        return;
      }
      await next();
    });
    app.error(async (error) => {
      log.error({ err: { message: error.message, code: (error as { code?: string }).code } }, 'slack listener failed');
    });
    acknowledgeUnhandled(app);
    return { app, socketMode: true };
  }

  const receiver = new HTTPReceiver({
    signingSecret: config.slack.signingSecret,
    endpoints: '/slack/events',
    logger,
    logLevel: LogLevel.WARN,
    bodyLimit: BODY_LIMIT_BYTES,
    // Our guard (slack/guard.ts) is the only way into this receiver and has already verified the
    // signature, in both time directions. Bolt checks it again: one unsigned request that got past
    // the guard once is why this second layer stays on, whatever it costs per request.
    signatureVerification: true,
    // Listeners ack themselves well inside the deadline; Bolt's default (3001 ms → 404) stays as the backstop.
    unhandledRequestTimeoutMillis: 3001,
  });
  const app = new App({ ...common, receiver });
  app.error(async (error) => {
    log.error({ err: { message: error.message, code: (error as { code?: string }).code } }, 'slack listener failed');
  });
  acknowledgeUnhandled(app);
  return { app, requestListener: receiver.requestListener, socketMode: false };
}
