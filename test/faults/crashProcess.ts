/**
 * The real entry point (`node --import tsx src/main.ts`) as a child process that a crash test can
 * SIGKILL: no shutdown hook runs, no lock is released, connections just drop. Its log lines join
 * the suite's secrets check.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { logSink } from '../helpers/logs';
import { freePort } from '../helpers/net';

const ROOT = join(__dirname, '..', '..');

export interface ChildApp {
  url: string;
  child: ChildProcess;
  /** Parsed JSON log lines so far. */
  lines(): Array<Record<string, unknown>>;
  stderr(): string;
  /** SIGKILL; resolves once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM (clean shutdown), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts the app with `env` (PORT chosen here); resolves once `/readyz` answers 200. */
export async function spawnChild(env: Record<string, string | undefined>, readyTimeoutMs = 60_000): Promise<ChildApp> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...env, PORT: String(port) } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const sink = logSink();
  let partial = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) if (line) sink.write(line);
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const app: ChildApp = {
    url,
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
    async kill() {
      if (!exited) child.kill('SIGKILL');
      await exit;
    },
    async stop(graceMs = 10_000) {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exit;
      clearTimeout(timer);
    },
  };
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (exited) throw new Error(`the app exited during start-up: ${err.slice(-2000)}`);
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) return app;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await app.kill();
      throw new Error(`the app was not ready within ${readyTimeoutMs} ms: ${err.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
