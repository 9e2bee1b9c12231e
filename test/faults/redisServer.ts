/**
 * A `redis-server` owned by one test: AOF on with `appendfsync always` in a temporary folder, on
 * a free port, so it can be stopped (SIGTERM: a clean shutdown that flushes the AOF) and started
 * again on the same port and folder with everything it had acknowledged.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/net';
import { sleep } from '../helpers/polls';

export interface TestRedis {
  port: number;
  /** `redis://127.0.0.1:PORT` — REDIS_URL. */
  url: string;
  dir: string;
  /** Whether a server process is running right now. */
  readonly running: boolean;
  start(): Promise<void>;
  /** SIGTERM and wait for the process to exit (Redis saves the AOF and closes clients). */
  stop(): Promise<void>;
  /** Stops for good and removes the folder. */
  close(): Promise<void>;
}

/** One PING over a raw socket: true when the server answers +PONG within 500 ms. */
export function pingRedis(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

export async function startTestRedis(): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'zoomjwt-aof-'));
  let proc: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const server: TestRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    get running() {
      return proc !== undefined;
    },
    async start() {
      if (proc) throw new Error('test redis already running');
      const child = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''],
        { stdio: 'ignore' },
      );
      proc = child;
      exited = new Promise((resolve) => child.once('exit', () => resolve()));
      void exited.then(() => {
        if (proc === child) proc = undefined;
      });
      for (let i = 0; !(await pingRedis(port)); i++) {
        if (!proc) throw new Error(`redis-server on ${port} exited while starting`);
        if (i > 200) throw new Error(`redis-server on ${port} did not start within 10 s`);
        await sleep(50);
      }
    },
    async stop() {
      const child = proc;
      if (!child) return;
      child.kill('SIGTERM');
      await exited;
      proc = undefined;
    },
    async close() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}
