/**
 * The real entry point, compiled (`node dist/src/main.js`, as the Docker image runs it; the
 * `test:faults` script builds first), as a child process, as an operator runs it: its own event
 * loop and its own core, so what a test measures (ack times, reconnects, crashes) is the app's and
 * not the test runner's, and a crash test can SIGKILL it. Its log lines join the suite's secrets
 * check.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logSink } from '../helpers/logs';
import { freePort } from '../helpers/net';
import { sleep } from '../helpers/polls';

const ROOT = join(__dirname, '..', '..');

export interface AppProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** Parsed JSON log lines so far. */
  lines(): Array<Record<string, unknown>>;
  stderr(): string;
  /** Exit code (or signal name) once the process has ended; undefined while it runs. */
  readonly exitedWith: number | string | undefined;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | string>;
  /** SIGKILL, as a crash: no shutdown hook runs, no lock is released; resolves once it is gone. */
  kill(): Promise<number | string>;
}

/** Starts the app with `env` (PORT is chosen here) and resolves once `/readyz` answers 200. */
export async function spawnApp(env: Record<string, string | undefined>, readyTimeoutMs = 60_000): Promise<AppProcess> {
  const port = await freePort();
  // ZJT_APP_NODE_ARGS go to node before the script, e.g. `--cpu-prof --cpu-prof-dir=…` to profile a run.
  const nodeArgs = (process.env.ZJT_APP_NODE_ARGS ?? '').split(' ').filter(Boolean);
  // Run outside the project folder: a developer's .env there must not fill in what `env` leaves out.
  const child = spawn(process.execPath, [...nodeArgs, join(ROOT, 'dist', 'src', 'main.js')], {
    cwd: tmpdir(),
    env: { PATH: process.env.PATH, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const sink = logSink();
  let partial = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    const text = partial + d.toString();
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) if (line) sink.write(line);
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  let exitedWith: number | string | undefined;
  const exit = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => {
      exitedWith = code ?? signal ?? 'unknown';
      resolve(exitedWith);
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const app: AppProcess = {
    url,
    port,
    child,
    lines: () =>
      sink.lines.flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
    stderr: () => err,
    get exitedWith() {
      return exitedWith;
    },
    async kill() {
      if (exitedWith === undefined) child.kill('SIGKILL');
      return exit;
    },
    async stop(graceMs = 30_000) {
      if (exitedWith !== undefined) return exitedWith;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        return await exit;
      } finally {
        clearTimeout(timer);
      }
    },
  };
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (exitedWith !== undefined) throw new Error(`app exited (${exitedWith}) while starting: ${err.slice(-2000)}`);
    if ((await httpStatus(`${url}/readyz`)) === 200) return app;
    if (Date.now() > deadline) {
      await app.stop(1_000);
      throw new Error(`app did not become ready within ${readyTimeoutMs} ms: ${err.slice(-2000)}`);
    }
    await sleep(100);
  }
}

/** The HTTP status of a GET, or 0 when nothing answered within `timeoutMs`. */
export async function httpStatus(url: string, timeoutMs = 2_000): Promise<number> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}
