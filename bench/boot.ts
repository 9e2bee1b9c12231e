/**
 * Boot time and the ack time of `/zoomjwt help`, as an operator runs the service: the compiled
 * entry point (`node dist/src/main.js`, rebuilt first) in its own process, timed from
 * spawn to the first 200 of /healthz; then sequential signed `help` commands.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandBody, postSigned } from '../dev/fakes/signing';
import { summarise, type LatencySummary } from './stats';
import { freePort } from '../test/helpers/net';

const ROOT = join(__dirname, '..');


export interface BootResult {
  /** Spawn → first /healthz 200, wall time (includes Node start-up and module loading). */
  to_healthz_ms: number;
  /** What the process itself logs: start() entry → listening and workers up. */
  start_ms: number;
  help: LatencySummary;
}

export async function runBoot(env: Record<string, string>, helpRequests: number): Promise<BootResult> {
  // Always rebuild: a stale dist/ would measure old code.
  const built = spawnSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (built.status !== 0 || !existsSync(join(ROOT, 'dist', 'src', 'main.js'))) throw new Error('build failed');
  const port = await freePort();
  const started = performance.now();
  // Outside the project folder: a developer's .env there must not change what is measured.
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'src', 'main.js')], {
    cwd: tmpdir(),
    env: { PATH: process.env.PATH, ...env, PORT: String(port), ROLE: 'all', POLL_EVERY: '0', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  try {
    let toHealthz = 0;
    for (;;) {
      try {
        if ((await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200) {
          toHealthz = performance.now() - started;
          break;
        }
      } catch {
        // not listening yet
      }
      if (child.exitCode !== null) throw new Error(`the app exited with ${child.exitCode}: ${err.trim()}`);
      if (performance.now() - started > 30_000) throw new Error('the app did not answer /healthz within 30 s');
      await new Promise((r) => setTimeout(r, 5));
    }
    const url = `http://127.0.0.1:${port}/slack/events`;
    const latencies: number[] = [];
    let errors = 0;
    const t0 = performance.now();
    for (let i = 0; i < helpRequests; i++) {
      const res = await postSigned(url, commandBody({ text: 'help' }), { signingSecret: env.SLACK_SIGNING_SECRET! });
      if (res.status !== 200) errors += 1;
      latencies.push(res.ms);
    }
    const help = summarise(latencies.slice(10), performance.now() - t0, errors);
    const line = out.split('\n').find((l) => l.includes('"zoomjwt started"'));
    const startMs = line ? Number((JSON.parse(line) as { bootMs?: number }).bootMs ?? Number.NaN) : Number.NaN;
    return { to_healthz_ms: Math.round(toHealthz), start_ms: startMs, help };
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }
}
