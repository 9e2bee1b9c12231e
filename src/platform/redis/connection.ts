/**
 * Redis connections. BullMQ needs `maxRetriesPerRequest: null` on the connections its workers
 * block on; our repositories use a connection that fails fast instead, so a Slack handler never
 * waits on a dead Redis past its 3-second budget.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../../log';

export type { Redis };

export interface RedisFactory {
  /** Shared command connection for repositories (fails fast when Redis is down). */
  readonly main: Redis;
  /** A new connection for BullMQ (queues, workers, schedulers). Closed by `close()`. */
  forBull(): Redis;
  /** PING on the main connection (the readiness probe). */
  ping(): Promise<string>;
  close(): Promise<void>;
}

/**
 * What a Cluster's node connections take from REDIS_URL: only the credentials and TLS (the
 * nodes come from REDIS_CLUSTER_NODES).
 */
export function clusterNodeOptions(url: string): RedisOptions {
  const fromUrl = new URL(url);
  return {
    ...(fromUrl.password ? { password: decodeURIComponent(fromUrl.password) } : {}),
    ...(fromUrl.username ? { username: decodeURIComponent(fromUrl.username) } : {}),
    ...(fromUrl.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/**
 * With `clusterNodes` the connections are ioredis Cluster clients. They are typed as `Redis`
 * because every command this project sends exists on both with the same signature; all keys of
 * an install share one hash tag, so multi-key scripts and MULTI blocks stay on one slot.
 */
export function createRedis(url: string, log: Logger, clusterNodes?: Array<{ host: string; port: number }>): RedisFactory {
  const base: RedisOptions = {
    lazyConnect: false,
    enableAutoPipelining: true,
    connectTimeout: 5_000,
    // Reconnect forever with a capped backoff: Redis restarts must not kill the process.
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  };
  const opened: Redis[] = [];
  const open = (opts: RedisOptions, role: string): Redis => {
    const conn = clusterNodes
      ? (new Cluster(clusterNodes, {
          redisOptions: {
            ...base,
            ...opts,
            connectionName: `zoomjwt:${role}`,
            ...clusterNodeOptions(url),
          },
          enableAutoPipelining: true,
          clusterRetryStrategy: (times: number) => Math.min(times * 200, 2_000),
          ...(opts.maxRetriesPerRequest === null ? { maxRedirections: 16 } : {}),
        }) as unknown as Redis)
      : new Redis(url, { ...base, ...opts, connectionName: `zoomjwt:${role}` });
    let lastError = '';
    conn.on('error', (err: Error) => {
      // ioredis emits an error per reconnect attempt; log each distinct one once.
      if (err.message !== lastError) log.warn({ role, err: { message: err.message } }, 'redis connection error');
      lastError = err.message;
    });
    conn.on('ready', () => {
      if (lastError) log.info({ role }, 'redis connection restored');
      lastError = '';
    });
    opened.push(conn);
    return conn;
  };
  const main = open({ maxRetriesPerRequest: 2, enableOfflineQueue: true }, 'main');
  return {
    main,
    forBull: () => open({ maxRetriesPerRequest: null }, 'bull'),
    ping: () => main.ping(),
    async close() {
      await Promise.all(
        opened.map(async (c) => {
          try {
            await c.quit();
          } catch {
            c.disconnect();
          }
        }),
      );
    },
  };
}
