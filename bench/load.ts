/**
 * A closed-loop load generator: `concurrency` workers, each sending its next signed request as
 * soon as the previous answer is read. Bodies are signed per request (Slack's timestamps must be
 * fresh), over keep-alive connections so both the app and the baseline pay the same, small,
 * connection cost.
 */
import { Agent, request } from 'node:http';
import { sign } from '../dev/fakes/signing';

export interface LoadResult {
  latencies: number[];
  wallMs: number;
  errors: number;
  /** HTTP status → count. */
  statuses: Record<number, number>;
  /** Bodies of the first few answers, for sanity checks. */
  samples: string[];
  /** Mean size of an answer's body (bytes). */
  meanBytes: number;
}

export interface LoadOptions {
  /** `http://127.0.0.1:PORT/slack/events` */
  url: string;
  signingSecret: string;
  concurrency: number;
  count: number;
  /** The form body of request `i` (0-based). */
  body(i: number): string;
}

function post(url: URL, agent: Agent, body: string, secret: string): Promise<{ status: number; text: string }> {
  const timestamp = Math.floor(Date.now() / 1000);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
          'x-slack-request-timestamp': String(timestamp),
          'x-slack-signature': sign(secret, timestamp, body),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const url = new URL(o.url);
  const agent = new Agent({ keepAlive: true, maxSockets: o.concurrency });
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  const samples: string[] = [];
  let errors = 0;
  let bytes = 0;
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= o.count) return;
      const body = o.body(i);
      const t0 = performance.now();
      try {
        const res = await post(url, agent, body, o.signingSecret);
        latencies.push(performance.now() - t0);
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        bytes += Buffer.byteLength(res.text);
        if (res.status !== 200) errors++;
        if (samples.length < 3) samples.push(res.text.slice(0, 2000));
      } catch {
        latencies.push(performance.now() - t0);
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  const wallMs = performance.now() - started;
  agent.destroy();
  return { latencies, wallMs, errors, statuses, samples, meanBytes: latencies.length ? Math.round(bytes / latencies.length) : 0 };
}
