/**
 * The process as an operator runs it: a child `node` running src/main.ts with an environment.
 * Config errors stop start-up with one message; SIGTERM shuts down cleanly with exit code 0;
 * /readyz follows Redis going away and coming back (a Redis of the test's own).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startFakeSlack, type FakeSlack } from '../../dev/fakes/slackServer';
import { logSink } from '../helpers/logs';
import { baseEnv, TEST_SECRETS } from '../helpers/env';
import { dropPrefix, uniquePrefix } from '../helpers/redis';
import { freePort } from '../helpers/net';
import { until, type UntilOptions } from '../helpers/polls';

const ROOT = join(__dirname, '..', '..');

/** An empty folder: a developer's .env in the project folder must not leak into these runs. */
const NO_DOTENV = mkdtempSync(join(tmpdir(), 'zoomjwt-nodotenv-'));
afterAll(() => rmSync(NO_DOTENV, { recursive: true, force: true }));

function run(
  env: Record<string, string | undefined>,
  cwd = NO_DOTENV,
): { child: ChildProcess; out: () => string; err: () => string; exit: Promise<number | null> } {
  let out = '';
  let err = '';
  // Absolute paths, so the process can run in another folder (one with its own .env).
  const tsx = pathToFileURL(join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
  const child = spawn(process.execPath, ['--import', tsx, join(ROOT, 'src', 'main.ts')], {
    cwd,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const sink = logSink();
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    for (const line of d.toString().split('\n')) if (line) sink.write(line);
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out: () => out, err: () => err, exit };
}


/** A child still starting refuses connections: that is "not yet", asked again every 100 ms for up to 20 s. */
const STARTING: UntilOptions = { timeoutMs: 20_000, everyMs: 100, errorsMeanNotYet: true };

const status = async (url: string) => (await fetch(url)).status;

let slack: FakeSlack;
beforeAll(async () => {
  slack = await startFakeSlack();
});
afterAll(async () => {
  await slack.close();
});

it('stops start-up with one message naming every bad variable, and no stack trace', async () => {
  const proc = run(baseEnv({ SLACK_BOT_TOKEN: undefined, POLL_EVERY: 'soon', ACTIONS_MODE: 'yes' }));
  expect(await proc.exit).toBe(1);
  const err = proc.err();
  expect(err).toMatch(/cannot start: 3 configuration problems/);
  expect(err).toMatch(/SLACK_BOT_TOKEN: required/);
  expect(err).toMatch(/POLL_EVERY: got "soon"/);
  expect(err).toMatch(/ACTIONS_MODE: got "yes"; expected|ACTIONS_MODE: got "yes"; dry-run or live/);
  expect(err).not.toMatch(/\n\s+at /);
  expect(err).not.toContain(TEST_SECRETS.signingSecret);
});

it('boots, answers health routes, and exits 0 on SIGTERM', async () => {
  const port = await freePort();
  const prefix = uniquePrefix('process');
  const started = Date.now();
  const proc = run(baseEnv({ SLACK_API_URL: slack.apiUrl, PORT: String(port), REDIS_PREFIX: prefix, LOG_LEVEL: 'info' }));
  try {
    await until(async () => ((await status(`http://127.0.0.1:${port}/healthz`)) === 200 ? true : undefined), '/healthz to answer 200', STARTING);
    const bootMs = Date.now() - started;
    expect(await status(`http://127.0.0.1:${port}/readyz`)).toBe(200);
    expect(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).toMatch(/zoomjwt_http_requests_total/);
    proc.child.kill('SIGTERM');
    expect(await proc.exit).toBe(0);
    const lines = proc.out().trim().split('\n').map((l) => JSON.parse(l) as { msg: string; bootMs?: number });
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['zoomjwt started', 'signal received', 'shutting down', 'stopped']));
    // Boot time is reported by the process itself; the wall time includes the TypeScript loader.
    expect(lines.find((l) => l.msg === 'zoomjwt started')?.bootMs).toBeGreaterThanOrEqual(0);
    expect(bootMs).toBeGreaterThan(0);
  } finally {
    proc.child.kill('SIGKILL');
    await dropPrefix(prefix);
  }
});

it('reads .env from its working folder, quoted values included, and real variables win over it', async () => {
  const port = await freePort();
  const prefix = uniquePrefix('dotenv');
  const dir = mkdtempSync(join(tmpdir(), 'zoomjwt-dotenv-'));
  const file = baseEnv({ SLACK_API_URL: slack.apiUrl, REDIS_PREFIX: prefix, LOG_LEVEL: 'info', PORT: '1' });
  // As .env.example writes them: a quoted cron expression, comments, an empty value.
  const lines = Object.entries(file).map(([k, v]) => `${k}=${v ?? ''}`);
  writeFileSync(join(dir, '.env'), ['# zoomjwt', ...lines, 'DIGEST_CRON="30 8 * * 1-5"', 'AUDIT_TOKEN=', 'ACTIONS_MODE=not-a-mode', ''].join('\n'));
  // The real environment holds only PATH, the port, and one value that differs from the file's.
  const proc = run({ PORT: String(port), ACTIONS_MODE: 'dry-run' }, dir);
  try {
    await until(async () => ((await status(`http://127.0.0.1:${port}/healthz`)) === 200 ? true : undefined), '/healthz to answer 200', STARTING);
    proc.child.kill('SIGTERM');
    expect(await proc.exit).toBe(0);
    const started = proc.out().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'zoomjwt started');
    expect(started).toMatchObject({ port, mode: 'dry-run' });
    expect(proc.err()).toBe('');
  } finally {
    proc.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    await dropPrefix(prefix);
  }
});

it('reports not ready while its Redis is down, and ready again when it returns', async () => {
  const redisPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'zoomjwt-redis-'));
  const startRedis = () =>
    spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  let redis = startRedis();
  const port = await freePort();
  const proc = run(baseEnv({ SLACK_API_URL: slack.apiUrl, PORT: String(port), REDIS_URL: `redis://127.0.0.1:${redisPort}`, REDIS_PREFIX: uniquePrefix('ready') }));
  try {
    await until(async () => ((await status(`http://127.0.0.1:${port}/readyz`)) === 200 ? true : undefined), '/readyz to answer 200', STARTING);
    redis.kill('SIGKILL');
    await until(async () => ((await status(`http://127.0.0.1:${port}/readyz`)) === 503 ? true : undefined), '/readyz to answer 503', STARTING);
    expect(await status(`http://127.0.0.1:${port}/healthz`)).toBe(200);
    redis = startRedis();
    await until(async () => ((await status(`http://127.0.0.1:${port}/readyz`)) === 200 ? true : undefined), '/readyz to answer 200', STARTING);
    proc.child.kill('SIGTERM');
    const code = await proc.exit;
    expect([code, proc.err().slice(-2000), proc.out().slice(-3000)]).toEqual([0, '', expect.any(String)]);
  } finally {
    proc.child.kill('SIGKILL');
    redis.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
