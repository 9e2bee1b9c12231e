/** Spawns a TypeScript entry point as a child process (through tsx) with an IPC channel. */
import { fork, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';

export interface Child {
  proc: ChildProcess;
  port: number;
  call<T = unknown>(msg: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  /** Memory samples (epoch ms, bytes). */
  memory(): Promise<Array<{ t: number; rss: number; heap: number }>>;
  /** CPU time the process has used so far (user + system, µs). */
  cpu(): Promise<number>;
  stop(): Promise<void>;
}

export async function spawnChild(entry: string, env: Record<string, string>, logFile: string): Promise<Child> {
  const log = createWriteStream(logFile);
  const proc = fork(entry, [], {
    env: { ...process.env, ...env },
    // --expose-gc: memory is read after a full collection, so growth means retained objects.
    execArgv: ['--import', 'tsx', '--expose-gc'],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  proc.stdout?.pipe(log);
  proc.stderr?.pipe(log);
  let nextId = 1;
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  const port = await new Promise<number>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`${entry} exited (${code}) before it was ready; see ${logFile}`));
    proc.once('exit', onExit);
    proc.on('message', (m: { type?: string; port?: number; id?: number; ok?: boolean; value?: unknown; error?: string }) => {
      if (m.type === 'ready') {
        proc.off('exit', onExit);
        resolve(m.port ?? 0);
      } else if (m.id !== undefined) {
        const w = waiting.get(m.id);
        waiting.delete(m.id);
        if (m.ok) w?.resolve(m.value);
        else w?.reject(new Error(m.error ?? 'child call failed'));
      }
    });
  });
  const self: Child = {
    proc,
    port,
    call<T>(msg: Record<string, unknown>, timeoutMs = 600_000) {
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`child call ${String(msg.type)} timed out`)), timeoutMs);
        waiting.set(id, {
          resolve: (v) => {
            clearTimeout(timer);
            resolve(v as T);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
        proc.send({ ...msg, id });
      });
    },
    async memory() {
      return (await self.call<{ samples: Array<{ t: number; rss: number; heap: number }> }>({ type: 'memory' })).samples;
    },
    async cpu() {
      return (await self.call<{ us: number }>({ type: 'cpu' })).us;
    },
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.send({ type: 'stop' });
      const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
  return self;
}
