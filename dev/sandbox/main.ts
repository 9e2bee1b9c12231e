/**
 * `npm run sandbox`: the real app (`ROLE=all`, the same `start()` as `npm start`) against a
 * simulated Zoom account and a terminal stand-in for Slack, on a private Redis key prefix.
 * Nothing leaves the machine: Zoom and Slack are HTTP servers on loopback, `ACTIONS_MODE=live`
 * only ever reaches the simulated account, and every Redis key the sandbox made is removed on exit.
 *
 * Options (after `npm run sandbox --`): `--soak <duration>` (SOAK_PERIOD, default 7d),
 * `--poll-every <duration>` (POLL_EVERY, default 1m; 0 polls only on demand), `--log <file>`
 * (default: zoomjwt-sandbox.log in the temp directory), `--no-log`.
 * Redis: REDIS_URL (default redis://127.0.0.1:6379) when it answers, else a private
 * `redis-server` on a free port, else instructions.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { ConfigError, loadConfig, loadRedisConfig } from '../../src/config';
import { parseDuration } from '../../src/kernel/duration';
import { enqueuePoll } from '../../src/capabilities/evidence/jobs/pollJob';
import { start, type Running } from '../../src/main';
import { JOB as APPROVAL_JOB } from '../../src/capabilities/approvals/jobs/names';
import { CONSOLE_HELP, createConsole } from './console';
import { addPeople, APPS, CHANNELS, createSimulatedAccount, PEOPLE, REPORTING_SILENT_FOR_MS, SANDBOX_TEAM, TRACKED_APP_IDS, ZOOM_ACCOUNT_ID } from './scenario';
import { startFakeSlack, type FakeSlack } from '../fakes/slackSim';
import { startFakeZoom, type FakeZoom } from '../fakes/zoomSim';

export interface SandboxOptions {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  /** Command-line options (see the file comment). */
  argv?: string[];
  /** Overrides REDIS_URL (tests). */
  redisUrl?: string;
  /** Real ms between bursts of new calls to Azure SCIM JWT; default 4000. */
  trafficEveryMs?: number;
  /** Aborting ends the session as `quit` would (signals, tests). */
  signal?: AbortSignal;
}

interface Options {
  soak: string;
  pollEvery: string;
  logFile: string | null;
}

const DAY = 86_400_000;
/** After the input's answer and the last Slack or Zoom activity, this much quiet (real ms) means the effects are in. */
const QUIET_MS = 250;
/** Longest wait for one input's effects (real ms). */
const SETTLE_TIMEOUT_MS = 30_000;
/** The first poll reads 30 days of logs; it should take a second or two. */
const FIRST_POLL_TIMEOUT_MS = 60_000;

export const REDIS_HELP = [
  'The sandbox needs Redis and found none:',
  '  - nothing answered at REDIS_URL (default redis://127.0.0.1:6379), and',
  '  - there is no redis-server program on the PATH to start a private one.',
  'Either of these fixes it:',
  '  sudo apt-get install redis-server        (Debian/Ubuntu; or: brew install redis)',
  '  docker run --rm -p 6379:6379 redis:7     (then run npm run sandbox again)',
  'Or point REDIS_URL at a Redis you may use: the sandbox only touches keys under its own',
  'zoomjwt-sandbox-<random> prefix and removes them when it exits.',
].join('\n');

function parseArgs(argv: string[]): Options | string {
  const o: Options = { soak: '7d', pollEvery: '1m', logFile: join(tmpdir(), 'zoomjwt-sandbox.log') };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [name, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => inline ?? argv[++i] ?? '';
    if (name === '--soak') o.soak = value();
    else if (name === '--poll-every') o.pollEvery = value();
    else if (name === '--log') o.logFile = value();
    else if (name === '--no-log') o.logFile = null;
    else return `Unknown option ${arg}. Options: --soak <duration>, --poll-every <duration>, --log <file>, --no-log`;
  }
  if (parseDuration(o.soak) === undefined) return `--soak wants a duration like 0, 90s, 1h or 7d (got "${o.soak}")`;
  if (parseDuration(o.pollEvery) === undefined) return `--poll-every wants a duration like 0, 30s or 1m (got "${o.pollEvery}")`;
  return o;
}

async function answers(url: string): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, connectTimeout: 1_000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A throwaway redis-server: no persistence, loopback only, gone with the sandbox. Resolves
 * undefined when there is no such program.
 */
async function startPrivateRedis(): Promise<{ url: string; child: ChildProcess } | undefined> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  let missing = false;
  child.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') missing = true;
  });
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (missing) return undefined;
    if (child.exitCode !== null) break;
    if (await answers(url)) return { url, child };
    await sleep(100);
  }
  child.kill();
  throw new Error(`redis-server did not start on port ${port}`);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** SCAN + UNLINK of every key under the prefix (keys and BullMQ queues share the hash tag). */
async function dropPrefix(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  let removed = 0;
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `{${prefix}}*`, 'COUNT', 1000);
      cursor = next;
      if (found.length) removed += await redis.unlink(...found);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return removed;
}

/** Runs one sandbox session from `input` to `quit` or end of input; resolves with the exit code. */
export async function runSandbox(opts: SandboxOptions): Promise<number> {
  const out = (text: string) => void opts.output.write(text);
  const parsed = parseArgs(opts.argv ?? []);
  if (typeof parsed === 'string') {
    out(`${parsed}\n`);
    return 2;
  }

  let redisUrl: string;
  try {
    redisUrl = opts.redisUrl ?? loadRedisConfig().url;
  } catch (err) {
    out(`${(err as Error).message}\n`);
    return 2;
  }
  let privateRedis: ChildProcess | undefined;
  if (!(await answers(redisUrl))) {
    out(`Nothing answered at ${redisUrl.replace(/\/\/[^@/]*@/, '//***@')}; trying a private redis-server for this session…\n`);
    let started;
    try {
      started = await startPrivateRedis();
    } catch (err) {
      out(`${(err as Error).message}\n`);
    }
    if (!started) {
      out(`${REDIS_HELP}\n`);
      return 1;
    }
    redisUrl = started.url;
    privateRedis = started.child;
  }

  // The app's clock: real time plus whatever `wait` added. It only moves forward, which keeps
  // signed requests inside both the guard's and Bolt's replay windows.
  let offsetMs = 0;
  const clock = () => Date.now() + offsetMs;
  const prefix = `zoomjwt-sandbox-${randomBytes(4).toString('hex')}`;
  const secret = (n: number) => randomBytes(n).toString('hex');
  const signingSecret = secret(16);
  const zoomClient = { id: `sandbox-${secret(4)}`, secret: secret(16) };

  let zoom: FakeZoom | undefined;
  let slack: FakeSlack | undefined;
  let running: Running | undefined;
  let logStream: WriteStream | undefined;
  let traffic: NodeJS.Timeout | undefined;
  let closeConsole: (() => void) | undefined;
  let code = 0;

  try {
    zoom = await startFakeZoom({ clock });
    slack = await startFakeSlack({ teamId: SANDBOX_TEAM, botUserId: 'U0ZOOMJWT' });
    addPeople(slack);
    const world = createSimulatedAccount(zoom, zoomClient.id, zoomClient.secret);
    world.seed(clock());

    let config;
    try {
      config = loadConfig({
        SLACK_BOT_TOKEN: `xoxb-sandbox-${secret(12)}`,
        SLACK_SIGNING_SECRET: signingSecret,
        SLACK_API_URL: slack.apiUrl,
        REDIS_URL: redisUrl,
        REDIS_PREFIX: prefix,
        ZOOM_ACCOUNT_ID,
        ZOOM_CLIENT_ID: zoomClient.id,
        ZOOM_CLIENT_SECRET: zoomClient.secret,
        ZOOM_API_URL: zoom.apiUrl,
        ZOOM_OAUTH_URL: zoom.oauthUrl,
        ZOOM_APP_IDS: TRACKED_APP_IDS.join(','),
        APPROVERS: PEOPLE.filter((p) => p.approver).map((p) => p.id).join(','),
        APPROVALS_CHANNEL: CHANNELS.approvals.id,
        DIGEST_CHANNEL: CHANNELS.digest.id,
        SOAK_PERIOD: parsed.soak,
        POLL_EVERY: parsed.pollEvery,
        ACTIONS_MODE: 'live',
        ROLE: 'all',
        PORT: '0',
        LOG_LEVEL: parsed.logFile ? 'info' : 'silent',
      });
    } catch (err) {
      if (err instanceof ConfigError) {
        out(`${err.message}\n`);
        return 2;
      }
      throw err;
    }

    if (parsed.logFile) logStream = createWriteStream(parsed.logFile, { flags: 'a' });
    const sink = logStream;
    running = await start(config, {
      clock,
      logDestination: { write: (line: string) => (sink ? sink.write(line) : true) },
      shutdownGraceMs: 5_000,
    });
    const services = running.services;

    // History from before the sandbox started: Rooms Control JWT was disabled by hand 3 days ago.
    const carl = PEOPLE.find((p) => p.handle === 'carl')!;
    await services.apps.transition(APPS.rooms.app_id, 'active', 'disabled', { disabledAt: world.roomsDisabledAt, disabledBy: carl.id });
    await services.audit.append({
      type: 'operator.done',
      actor: carl.id,
      appId: APPS.rooms.app_id,
      account: 'default',
      summary: `<@${carl.id}> disabled ${APPS.rooms.app_name} in the Marketplace 3 days before this sandbox started (simulated history)`,
      details: { state: 'disabled', simulated: true },
    });

    // Activity seen by the Slack and Zoom stand-ins; `settle` waits for it to go quiet.
    let lastActivity = Date.now();
    slack.subscribe(() => void (lastActivity = Date.now()));
    const fakeZoom = zoom;
    const fakeSlack = slack;
    let zoomRequests = fakeZoom.requests.length;
    const settle = async (): Promise<void> => {
      const deadline = Date.now() + SETTLE_TIMEOUT_MS;
      // Quiet is counted from now: follow-ups that start later (a track's Zoom lookup) get seen.
      lastActivity = Date.now();
      while (Date.now() < deadline) {
        if (fakeZoom.requests.length !== zoomRequests) {
          zoomRequests = fakeZoom.requests.length;
          lastActivity = Date.now();
        }
        const counts = await Promise.all(services.queues.all().map((q) => q.getJobCounts('active', 'waiting', 'prioritized', 'waiting-children')));
        const busy = counts.some((c) => Object.values(c).some((v) => v > 0));
        if (!busy && Date.now() - lastActivity >= QUIET_MS) return;
        await sleep(50);
      }
    };
    const pollNow = async () => {
      await enqueuePoll(services, 'default');
      await settle();
    };

    out(`zoomjwt sandbox: reading 30 days of call logs from the simulated Zoom account…\n`);
    const firstPoll = Date.now();
    await enqueuePoll(services, 'default');
    while ((await services.health.get('default')).lastSuccess === undefined) {
      if (Date.now() - firstPoll > FIRST_POLL_TIMEOUT_MS) throw new Error('the first poll of the simulated Zoom account did not finish within a minute');
      await sleep(100);
    }
    await settle();

    const everyMs = opts.trafficEveryMs ?? 4_000;
    traffic = setInterval(() => world.tick(clock()), everyMs);
    traffic.unref();

    const interactive = (opts.input as { isTTY?: boolean }).isTTY === true;
    let idle = false;
    const rl = createInterface({ input: opts.input, ...(interactive ? { output: opts.output, terminal: true } : {}) });
    // While the prompt waits for a line, late output (a scheduled poll's alert) goes above it.
    const write = (text: string) => {
      if (interactive && idle) {
        out(`\r\x1b[K${text}`);
        rl.prompt(true);
      } else out(text);
    };

    const session = createConsole({
      slack: fakeSlack,
      eventsUrl: `http://127.0.0.1:${running.port}/slack/events`,
      signingSecret,
      clock,
      write,
      settle,
      async wait(ms) {
        const before = clock();
        offsetMs += ms;
        // The integrations kept calling; the schedulers would have polled and swept meanwhile.
        world.advance(before, clock());
        await services.queues.actions.add(APPROVAL_JOB.sweep, {}, { removeOnComplete: true });
        await pollNow();
      },
    });
    closeConsole = () => session.close();

    const days = Math.round(REPORTING_SILENT_FOR_MS / DAY);
    out(
      [
        '',
        'zoomjwt sandbox — the real app, a simulated Zoom account, and this terminal as Slack.',
        `  Zoom apps: ${APPS.scim.app_name} (called every day by Azure AD SCIM), ${APPS.reporting.app_name} (silent for ${days} days),`,
        `             ${APPS.rooms.app_name} (disabled 3 days ago; its callers now fail), ${APPS.webinar.app_name} and ${APPS.phoneExport.app_name} (not tracked yet)`,
        `  Channels: #${CHANNELS.approvals.name} (approval cards), #${CHANNELS.digest.name} (digest and alerts); you type in #${CHANNELS.ops.name}.`,
        `  ACTIONS_MODE=live against the simulated account only; soak period ${parsed.soak}; Redis keys under ${prefix}.`,
        parsed.logFile ? `  App logs: ${parsed.logFile}` : '  App logs: off',
        '',
        CONSOLE_HELP,
        '',
      ].join('\n'),
    );

    // Ctrl-C at the prompt, or a signal, ends the session the way `quit` does.
    rl.on('SIGINT', () => rl.close());
    if (opts.signal?.aborted) rl.close();
    opts.signal?.addEventListener('abort', () => rl.close(), { once: true });

    rl.setPrompt(session.prompt());
    if (interactive) {
      idle = true;
      rl.prompt();
    }
    for await (const line of rl) {
      idle = false;
      if (!interactive) out(`\n${session.echo(line)}\n`);
      let result;
      try {
        result = await session.handle(line);
      } catch (err) {
        out(`(that failed: ${(err as Error).message})\n`);
        result = 'continue' as const;
      }
      if (result === 'quit') break;
      rl.setPrompt(session.prompt());
      if (interactive) {
        idle = true;
        rl.prompt();
      }
    }
    rl.close();
  } catch (err) {
    out(`The sandbox stopped: ${(err as Error).message}\n`);
    code = 1;
  } finally {
    if (traffic) clearInterval(traffic);
    closeConsole?.();
    await running?.stop().catch(() => undefined);
    await slack?.close().catch(() => undefined);
    await zoom?.close().catch(() => undefined);
    const removed = await dropPrefix(redisUrl, prefix).catch(() => -1);
    if (privateRedis) {
      privateRedis.kill();
      out('Stopped the private redis-server.\n');
    }
    if (logStream) await new Promise<void>((r) => logStream!.end(() => r()));
    out(removed >= 0 ? `\nSandbox stopped; removed its ${removed} Redis keys (${prefix}).\n` : `\nSandbox stopped; could not remove the keys under ${prefix}.\n`);
  }
  return code;
}

if (require.main === module) {
  const stop = new AbortController();
  process.once('SIGTERM', () => stop.abort());
  process.once('SIGINT', () => stop.abort());
  void runSandbox({ input: process.stdin, output: process.stdout, argv: process.argv.slice(2), signal: stop.signal }).then((code) => process.exit(code));
}
