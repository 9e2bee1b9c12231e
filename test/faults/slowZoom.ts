/**
 * A pass-through HTTP proxy in front of the fake Zoom that holds each call-log page for a while
 * before forwarding it: a large backfill then takes seconds instead of milliseconds, long enough
 * to pull Redis out from under it in the middle. Everything else passes straight through.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SlowZoom {
  /** Use as ZOOM_API_URL. */
  apiUrl: string;
  /** Delay before forwarding each call-log request (ms); 0 passes at once. */
  setPageDelay(ms: number): void;
  /** Call-log requests forwarded so far. */
  readonly pagesServed: number;
  close(): Promise<void>;
}

export async function startSlowZoom(targetApiUrl: string, pageDelayMs: number): Promise<SlowZoom> {
  const target = new URL(targetApiUrl);
  let delay = pageDelayMs;
  let pages = 0;
  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const upstream = request(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.pipe(upstream);
  };
  const server = createServer((req, res) => {
    if (!(req.url ?? '').includes('/api_call_logs')) return forward(req, res);
    const wait = delay;
    setTimeout(() => {
      pages += 1;
      forward(req, res);
    }, wait);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    apiUrl: `http://127.0.0.1:${port}${target.pathname}`,
    setPageDelay(ms) {
      delay = ms;
    },
    get pagesServed() {
      return pages;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
