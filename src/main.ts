/**
 * The composition root: config → logger → redis → adapters → web and/or worker. Nothing else in
 * the codebase connects to anything; modules export factories and this file wires them.
 * `start()` is what tests, benchmarks and the sandbox call; running this file directly reads the
 * environment, starts, and stops cleanly on SIGTERM/SIGINT.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { webApi } from '@slack/bolt';
import { ConfigError, loadConfig, loadEnvFile, secretsOf, type Config } from './config';
import { createLogger, type Logger } from './log';
import { createMetrics } from './metrics';
import type { Clock } from './kernel/clock';
import { weakenedSettings } from './kernel/settings';
import type { Feature, SlackIdentity } from './platform/feature';
import { createHttpServer, healthRoutes, type RouteHandler } from './platform/http/server';
import { createQueues, startWorkers, type ProcessorTable, type Workers } from './platform/queue/queues';
import { createKeys } from './platform/redis/keys';
import { createRedis } from './platform/redis/connection';
import { createSlackApp, slackClientOptions } from './platform/slack/app';
import { createAccess } from './platform/slack/access';
import type { Installation } from './platform/slack/guard';
import { createSlackTransport } from './platform/slack/transport';
import { createSlackClient } from './platform/slack/client';
import { registerCommands, type CommandTable } from './platform/slack/commands';
import { createNativeSupport } from './platform/slack/stores/nativeRefusals';
import { createZoomClient, type ZoomClient } from './platform/zoom/client';
import { createAuditLog } from './capabilities/audit';
import { createAppStore, createEventBus, createHealthStore, createUsageStore } from './capabilities/evidence';
import { createFeatures } from './capabilities';
import type { Services } from './services';

export type { Clock, Services };

export interface StartOptions {
  clock?: Clock;
  /** Where log lines go (tests capture them); defaults to stdout. */
  logDestination?: { write(line: string): unknown };
  /** How long running jobs may take to finish at shutdown (ms). Default JOB_GRACE_MS. */
  shutdownGraceMs?: number;
}

/**
 * Shutdown budget (ms), inside compose's `stop_grace_period: 30s` (after it, SIGKILL): HTTP
 * requests in flight get HTTP_DRAIN_MS (Slack itself gives up after 3 s), running jobs then get
 * JOB_GRACE_MS (a job cut short is retried by BullMQ), and closing queues and Redis takes well
 * under a second. 5 + 20 leaves about 5 s to spare.
 */
export const HTTP_DRAIN_MS = 5_000;
export const JOB_GRACE_MS = 20_000;

export interface Running {
  services: Services;
  /** The HTTP port actually bound (useful with PORT=0). */
  port: number;
  stop(): Promise<void>;
}

export class StartupError extends Error {
  readonly code = 'startup_failed';
}

async function slackIdentity(client: webApi.WebClient, log: Logger): Promise<SlackIdentity> {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await client.auth.test();
      return {
        teamId: String(res.team_id ?? ''),
        // Present on Enterprise Grid: members of any workspace of this org count as ours.
        ...(typeof res.enterprise_id === 'string' && res.enterprise_id !== '' ? { enterpriseId: res.enterprise_id } : {}),
        botUserId: String(res.user_id ?? ''),
        botId: String(res.bot_id ?? ''),
      };
    } catch (err) {
      const code = (err as { data?: { error?: string } }).data?.error;
      if (code === 'invalid_auth' || code === 'not_authed' || code === 'account_inactive' || code === 'token_revoked') {
        throw new StartupError(`Slack refused SLACK_BOT_TOKEN (${code}). Reinstall the app and copy its Bot User OAuth Token.`);
      }
      if (attempt >= 5) throw new StartupError(`Slack's API did not answer auth.test (${(err as Error).message}); check SLACK_API_URL and the network.`);
      log.warn({ attempt, err: { message: (err as Error).message } }, 'auth.test failed; retrying');
      await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
    }
  }
}

export async function start(config: Config, options: StartOptions = {}): Promise<Running> {
  const clock = options.clock ?? Date.now;
  const bootStarted = performance.now();
  const { log, addSecret } = createLogger({ level: config.logLevel, secrets: secretsOf(config) }, options.logDestination);
  const redisFactory = createRedis(config.redis.url, log, config.redis.clusterNodes);
  const redis = redisFactory.main;
  const keys = createKeys(config.redis.prefix);
  const metrics = createMetrics();
  const slackTransport = createSlackTransport({
    policy: {
      apiUrl: config.slack.apiUrl,
      responseOrigins: config.slack.responseOrigins,
      onRefused: (url) => log.warn({ host: url.host }, 'a request named a response_url outside Slack; it was not called'),
    },
  });
  const { client: slack, health: slackHealth } = createSlackClient({
    token: config.slack.botToken, options: slackClientOptions(config, slackTransport, log), redis, keys, log, metrics, clock,
  });

  // Run at shutdown in reverse order of adding. Start-up adds them so that this gives: stop taking
  // work (HTTP server, Socket Mode), let running jobs finish, close the queues; then Redis, which
  // everything before uses, and last the Slack transport the jobs post through.
  const cleanups: Array<{ step: string; run: () => Promise<void> }> = [];
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      log.info('shutting down');
      const steps = [...[...cleanups].reverse(), { step: 'redis', run: () => redisFactory.close() }, { step: 'slack-transport', run: async () => slackTransport.close() }];
      for (const { step, run } of steps) {
        const started = performance.now();
        try {
          await run();
          log.info({ step, ms: Math.round(performance.now() - started) }, 'shutdown step done');
        } catch (err) {
          log.warn({ step, err: { message: (err as Error).message } }, 'cleanup step failed');
        }
      }
      log.info('stopped');
    })());

  try {
    const identity = await slackIdentity(slack, log);
    const apps = createAppStore(redis, keys, config.zoom.accounts.map((a) => a.name));
    const queues = createQueues(redisFactory.forBull(), keys, log);
    cleanups.push({ step: 'queues', run: () => queues.close() });
    const zoom = new Map<string, ZoomClient>();
    for (const account of config.zoom.accounts) {
      zoom.set(
        account.name,
        createZoomClient({
          account,
          oauthUrl: config.zoom.oauthUrl,
          redis,
          keys,
          log,
          clock,
          addSecret,
          onRequest: ({ endpoint, status }) => metrics.zoomRequests.inc({ account: account.name, endpoint, status: String(status) }),
        }),
      );
    }
    const access = createAccess({
      slack, approvers: config.approvers, admins: config.admins, installed: () => installationOf(identity), log, clock,
    });
    const services: Services = {
      config, log, clock, redis, keys, metrics, slack, slackHealth, slackIdentity: identity, access, apps, queues, zoom,
      usage: createUsageStore({ redis, keys }),
      health: createHealthStore({ redis, keys }),
      audit: createAuditLog({ redis, keys, clock, ...(config.auditKey ? { key: config.auditKey } : {}) }),
      events: createEventBus(log),
    };

    // audit:verify tells an install that never logged anything from a wrong REDIS_PREFIX by this.
    await services.audit.markInstalled();
    await seedTrackedApps(services);

    const features: Feature[] = createFeatures(services);
    const commands: CommandTable = Object.assign({}, ...features.map((f) => f.commands ?? {})) as CommandTable;
    const processors: ProcessorTable = {
      // Proves the queue wiring end to end (tests and probes); no side effects.
      actions: { ping: async (job) => ({ pong: job.data as unknown }) },
    };
    for (const feature of features) {
      for (const [queue, table] of Object.entries(feature.processors ?? {}) as Array<[keyof ProcessorTable, NonNullable<ProcessorTable[keyof ProcessorTable]>]>) {
        processors[queue] = { ...processors[queue], ...table };
      }
    }

    const web = config.role === 'all' || config.role === 'web';
    const worker = config.role === 'all' || config.role === 'worker';

    if (worker) {
      // Started before the ways in (HTTP, Socket Mode) so that, run in reverse, shutdown stops
      // those first and only then waits for the jobs.
      const workers: Workers = startWorkers({ connection: () => redisFactory.forBull(), keys, processors, log, metrics });
      cleanups.push({ step: 'workers', run: () => workers.close(options.shutdownGraceMs ?? JOB_GRACE_MS) });
    }

    const routes: Record<string, RouteHandler> = healthRoutes({ metrics, ping: () => redisFactory.ping() });
    for (const feature of features) Object.assign(routes, feature.routes ?? {});
    let slackListener: ((req: IncomingMessage, res: ServerResponse) => void | Promise<void>) | undefined;
    if (web) {
      const slackApp = createSlackApp({ config, log, metrics, botUserId: identity.botUserId, botId: identity.botId, install: () => installationOf(identity), transport: slackTransport });
      registerCommands(slackApp.app, commands, {
        log, metrics, clock, rawAcks: !slackApp.socketMode, access,
        native: createNativeSupport(redis, keys, () => identity.teamId),
        onRefused: async ({ userId, subcommand, code }) => {
          await services.audit.append({
            type: 'access.refused', actor: userId,
            summary: `<@${userId}> was refused \`/zoomjwt ${subcommand}\` (${code})`, details: { subcommand, code },
          });
        },
      });
      for (const feature of features) feature.registerSlack?.(slackApp.app);
      if (slackApp.socketMode) {
        await slackApp.app.start();
        cleanups.push({ step: 'socket-mode', run: () => slackApp.app.stop().then(() => undefined) });
        log.info('slack socket mode connected');
      } else {
        slackListener = slackApp.requestListener;
      }
    }

    const http = createHttpServer({
      log,
      metrics,
      routes,
      ...(slackListener
        ? {
            slack: {
              listener: slackListener,
              guard: { signingSecret: config.slack.signingSecret, install: () => installationOf(identity), clock, log },
            },
          }
        : {}),
    });
    const port = await http.listen(config.port);
    // First to run at shutdown: stop taking requests before anything else closes.
    cleanups.push({ step: 'http', run: () => http.close(HTTP_DRAIN_MS) });
    if (worker) for (const feature of features) await feature.schedule?.();

    for (const weak of weakenedSettings(config)) log.warn({ setting: weak.setting }, weak.text);
    log.info(
      { role: config.role, port, mode: config.actionsMode, accounts: config.zoom.accounts.length, socketMode: Boolean(config.slack.appToken), bootMs: Math.round(performance.now() - bootStarted) },
      'zoomjwt started',
    );
    return { services, port, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function installationOf(identity: SlackIdentity): Installation {
  return { ...(identity.teamId ? { teamId: identity.teamId } : {}), ...(identity.enterpriseId ? { enterpriseId: identity.enterpriseId } : {}) };
}

/** ZOOM_APP_IDS are tracked from the start; names are filled in by the first poll. */
async function seedTrackedApps(s: Services): Promise<void> {
  for (const seed of s.config.zoom.appIds) {
    if (await s.apps.get(seed.appId)) continue;
    await s.apps.track({ appId: seed.appId, account: seed.account, name: seed.appId, trackedBy: 'config' }, s.clock());
  }
}

async function main(): Promise<void> {
  let config: Config;
  try {
    // `.env` when there is one; variables already in the environment win.
    loadEnvFile();
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  // Handlers go in before start(): a SIGTERM that arrives while starting still ends cleanly.
  const starting = start(config);
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    void starting
      .then(async (running) => {
        running.services.log.info({ signal }, 'signal received');
        await running.stop();
        process.exit(0);
      })
      .catch(() => process.exit(1));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await starting;
  } catch (err) {
    process.stderr.write(`zoomjwt could not start: ${err instanceof StartupError ? err.message : (err as Error).message}\n`);
    process.exit(1);
  }
}

if (require.main === module) {
  void main();
}
