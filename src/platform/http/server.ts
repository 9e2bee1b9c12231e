/**
 * The process's HTTP server: `POST /slack/events` (through the guard, then Bolt), `/healthz`,
 * `/readyz`, `/metrics`, and `/audit` when an audit token is configured. Every response is counted.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../log';
import type { Metrics } from '../../metrics';
import { guardSlackRequest, refuse, type GuardOptions } from '../slack/guard';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface HttpServerOptions {
  log: Logger;
  metrics: Metrics;
  /** Bolt's request listener (HTTP mode only). */
  slack?: { listener: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>; guard: GuardOptions };
  /** Extra GET routes by exact path. */
  routes: Record<string, RouteHandler>;
}

export interface HttpServerHandle {
  server: Server;
  listen(port: number): Promise<number>;
  /**
   * Stops accepting connections and ends idle keep-alive ones; in-flight requests get `drainMs`
   * to finish, then their connections are cut, so shutdown is bounded.
   */
  close(drainMs?: number): Promise<void>;
}

export function createHttpServer(opts: HttpServerOptions): HttpServerHandle {
  const { log, metrics } = opts;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const route = path === '/slack/events' ? path : opts.routes[path] ? path : 'other';
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      metrics.httpRequests.inc({ route, status: String(res.statusCode) });
      if (route === '/slack/events') {
        metrics.slackAck.observe({ kind: 'request' }, Number(process.hrtime.bigint() - started) / 1e9);
      }
    });
    void handle(req, res, path).catch((err: unknown) => {
      log.error({ err, path }, 'http handler failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error');
    });
  });
  // Slack gives 3 s; a client that trickles its request for longer is not Slack.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  // Keep idle connections longer than the proxies in front of us (load balancers idle out at
  // about 60 s): the side that closes first must be the client, or a request sent on a socket we
  // are closing at that instant fails with a reset.
  server.keepAliveTimeout = 65_000;

  async function handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (path === '/slack/events' && opts.slack) {
      if (req.method !== 'POST') {
        res.writeHead(405, { allow: 'POST', 'content-type': 'text/plain' }).end('method not allowed');
        return;
      }
      const outcome = await guardSlackRequest(req, opts.slack.guard);
      if (!outcome.ok) {
        if (outcome.status !== 200) log.info({ status: outcome.status, reason: outcome.reason }, 'slack request refused');
        refuse(res, outcome);
        return;
      }
      // A slash command is always answered with a JSON message. Declared here, it also covers the
      // answers the router sends already serialized (a string ack, which Bolt sends bare).
      if (outcome.command) res.setHeader('content-type', 'application/json; charset=utf-8');
      await opts.slack.listener(outcome.req, res);
      return;
    }
    const handler = opts.routes[path];
    if (!handler) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET', 'content-type': 'text/plain' }).end('method not allowed');
      return;
    }
    await handler(req, res);
  }

  return {
    server,
    listen: (port) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, () => {
          server.off('error', reject);
          resolve((server.address() as AddressInfo).port);
        });
      }),
    close: (drainMs = 5_000) =>
      new Promise((resolve) => {
        if (!server.listening) return resolve();
        const cut = setTimeout(() => {
          log.warn({ drainMs }, 'http requests still running at shutdown; closing their connections');
          server.closeAllConnections();
        }, drainMs);
        cut.unref();
        server.close(() => {
          clearTimeout(cut);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}

/** `/healthz`, `/readyz` and `/metrics`. */
export function healthRoutes(deps: { metrics: Metrics; ping: () => Promise<unknown> }): Record<string, RouteHandler> {
  return {
    '/healthz': (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    },
    '/readyz': async (_req, res) => {
      try {
        await withTimeout(deps.ping(), 1_000);
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ready');
      } catch {
        res.writeHead(503, { 'content-type': 'text/plain' }).end('redis unavailable');
      }
    },
    '/metrics': async (_req, res) => {
      const body = await deps.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': deps.metrics.registry.contentType }).end(body);
    },
  };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout')), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
