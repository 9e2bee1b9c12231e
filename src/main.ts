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
import { createAuditRoute } from './http/auditRoute';
import { createHttpServer, healthRoutes, type RouteHandler } from './http/server';
import { createQueues, startWorkers, type ProcessorTable, type Workers } from './jobs/queues';
import { createAppStore } from './store/apps';
import { createAuditLog } from './store/audit';
import { createHealthStore } from './store/health';
import { createKeys } from './store/keys';
import { createRedis } from './store/redis';
import { createUsageStore } from './store/usage';
import { createSlackApp, slackClientOptions } from './slack/app';
import { createSlackTransport } from './slack/transport';
import { createSlackClient } from './slack/client';
import { registerCommands, type CommandTable } from './slack/commands';
import { createZoomClient, type ZoomClient } from './zoom/client';
import { createEventBus, type Clock, type Feature, type Services } from './services';
import { createFeatures } from './features';

export type { Clock, Services };

export interface StartOptions {
  clock?: Clock;
  /** Where log lines go (tests capture them); defaults to stdout. */
  logDestination?: { write(line: string): unknown };
  /** How long running jobs may take to finish at shutdown (ms). */
  shutdownGraceMs?: number;
}

export interface Running {
  services: Services;
  /** The HTTP port actually bound (useful with PORT=0). */
  port: number;
  stop(): Promise<void>;
}

export class StartupError extends Error {}

async function slackIdentity(client: webApi.WebClient, log: Logger): Promise<Services['slackIdentity']> {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await client.auth.test();
      return { teamId: String(res.team_id ?? ''), botUserId: String(res.user_id ?? ''), botId: String(res.bot_id ?? '') };
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
  const slackTransport = createSlackTransport();
  const { client: slack, health: slackHealth } = createSlackClient({
    token: config.slack.botToken, options: slackClientOptions(config, slackTransport, log), redis, keys, log, metrics, clock,
  });

  const cleanups: Array<() => Promise<void>> = [];
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      log.info('shutting down');
      for (const cleanup of cleanups.reverse()) {
        try {
          await cleanup();
        } catch (err) {
          log.warn({ err: { message: (err as Error).message } }, 'cleanup step failed');
        }
      }
      await redisFactory.close();
      slackTransport.close();
      log.info('stopped');
    })());

  try {
    const identity = await slackIdentity(slack, log);
    const apps = createAppStore(redis, keys, config.zoom.accounts.map((a) => a.name));
    const queues = createQueues(redisFactory.forBull(), keys, log);
    cleanups.push(() => queues.close());
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
    const services: Services = {
      config, log, clock, redis, keys, metrics, slack, slackHealth, slackIdentity: identity, apps, queues, zoom,
      usage: createUsageStore({ redis, keys }),
      health: createHealthStore({ redis, keys }),
      audit: createAuditLog({ redis, keys, clock }),
      events: createEventBus(log),
    };

    await seedTrackedApps(services);

    const features: Feature[] = createFeatures(services);
    const commands: CommandTable = Object.assign({}, ...features.map((f) => f.commands ?? {}));
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

    const routes: Record<string, RouteHandler> = healthRoutes({ metrics, ping: () => redis.ping() });
    if (config.auditToken) {
      // Without AUDIT_TOKEN the route does not exist (404), as SPEC §5.4 says.
      routes['/audit'] = createAuditRoute({ audit: services.audit, token: config.auditToken, log }).handler;
    }
    for (const feature of features) Object.assign(routes, feature.routes ?? {});
    let slackListener: ((req: IncomingMessage, res: ServerResponse) => void | Promise<void>) | undefined;
    if (web) {
      const slackApp = createSlackApp({ config, log, metrics, botUserId: identity.botUserId, botId: identity.botId, teamId: () => identity.teamId || undefined, transport: slackTransport });
      registerCommands(slackApp.app, commands, { log, metrics, clock, rawAcks: !slackApp.socketMode });
      for (const feature of features) feature.registerSlack?.(slackApp.app);
      if (slackApp.socketMode) {
        await slackApp.app.start();
        cleanups.push(() => slackApp.app.stop().then(() => undefined));
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
              guard: { signingSecret: config.slack.signingSecret, teamId: () => identity.teamId || undefined, clock, log },
            },
          }
        : {}),
    });
    const port = await http.listen(config.port);
    // First to run at shutdown: stop taking requests before anything else closes.
    cleanups.push(() => http.close());

    if (worker) {
      const workers: Workers = startWorkers({ connection: () => redisFactory.forBull(), keys, processors, log, metrics });
      cleanups.push(() => workers.close(options.shutdownGraceMs ?? 25_000));
      for (const feature of features) await feature.schedule?.();
    }

    log.info(
      { role: config.role, port, mode: config.actionsMode, accounts: config.zoom.accounts.length, socketMode: Boolean(config.slack.appToken), bootMs: Math.round(performance.now() - bootStarted) },
      'zoomjwt started',
    );
    // Cleanups run in reverse: http first, then workers, then queues.
    cleanups.reverse();
    return { services, port, stop };
  } catch (err) {
    await stop();
    throw err;
  }
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
