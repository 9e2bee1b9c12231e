/**
 * The real zoomjwt in a child process: `start(loadConfig())`, exactly as `npm start` does, plus a
 * small IPC surface for the benchmark driver:
 *  - `poll {account}`: one account poll (the body of the BullMQ poll job), timed here;
 *  - `profile {on, path}`: starts / stops the V8 CPU profiler (writes a .cpuprofile);
 *  - `memory`: the RSS samples taken every second since start;
 *  - `gc`: a full garbage collection (the child runs with --expose-gc), then RSS and heap;
 *  - `stop`: a clean shutdown.
 * Running the app in its own process keeps the load generator off its event loop.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { loadConfig } from '../src/config';
import { pollAccount } from '../src/capabilities/evidence/jobs/pollAccount';
import { start, type Running } from '../src/main';

type Msg = { id?: number; type: string; account?: string; on?: boolean; path?: string };

const samples: Array<{ t: number; rss: number; heap: number }> = [];
function sampleMemory(): void {
  const m = process.memoryUsage();
  samples.push({ t: Date.now(), rss: m.rss, heap: m.heapUsed });
}

let session: Session | undefined;
function inspector<T>(method: string, params?: object): Promise<T> {
  session ??= (() => {
    const s = new Session();
    s.connect();
    return s;
  })();
  return new Promise((resolve, reject) =>
    session!.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res as T))),
  );
}

async function handle(running: Running, msg: Msg): Promise<unknown> {
  const s = running.services;
  switch (msg.type) {
    case 'poll': {
      const account = msg.account ?? '';
      const zoom = s.zoom.get(account);
      if (!zoom) throw new Error(`unknown account ${account}`);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const result = await pollAccount({ account, zoom, apps: s.apps, usage: s.usage, health: s.health, clock: s.clock, log: s.log });
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      return { result, ms, cpuMs: (cpu.user + cpu.system) / 1000 };
    }
    case 'profile': {
      if (msg.on) {
        await inspector('Profiler.enable');
        await inspector('Profiler.setSamplingInterval', { interval: 200 });
        await inspector('Profiler.start');
        return { started: true };
      }
      const { profile } = await inspector<{ profile: unknown }>('Profiler.stop');
      if (msg.path) writeFileSync(msg.path, JSON.stringify(profile));
      return { written: msg.path };
    }
    case 'cpu': {
      const cpu = process.cpuUsage();
      return { us: cpu.user + cpu.system };
    }
    case 'memory':
      sampleMemory();
      return { samples };
    case 'gc': {
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      gc?.();
      const m = process.memoryUsage();
      return { collected: Boolean(gc), rss: m.rss, heap: m.heapUsed };
    }
    case 'stop':
      await running.stop();
      return { stopped: true };
    default:
      throw new Error(`unknown message ${msg.type}`);
  }
}

async function main(): Promise<void> {
  const running = await start(loadConfig());
  sampleMemory();
  setInterval(sampleMemory, 1000).unref();
  process.on('message', (msg: Msg) => {
    handle(running, msg).then(
      (value) => {
        process.send?.({ id: msg.id, ok: true, value });
        if (msg.type === 'stop') setImmediate(() => process.exit(0));
      },
      (err: unknown) => process.send?.({ id: msg.id, ok: false, error: (err as Error).message }),
    );
  });
  process.send?.({ type: 'ready', port: running.port });
}

void main().catch((err: unknown) => {
  process.stderr.write(`bench app failed to start: ${(err as Error).message}\n`);
  process.exit(1);
});
