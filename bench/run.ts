/**
 * `npm run bench` (quick, under 3 minutes) and `npm run bench -- --full` (the full million entries,
 * more rounds). Add `--profile` to write CPU profiles of the app process during the ingest and the
 * status load (into the temp directory, `zoomjwt-bench-profiles/*.cpuprofile`, openable in Chrome
 * DevTools) and print where the time went; `--ingest-only` stops after the ingest and poll figures.
 *
 * It starts everything it needs: a fake Slack and a fake Zoom (in this process), the real app and a
 * bare Bolt baseline (each in its own child process, started the same way), and uses the Redis at
 * REDIS_URL (default 127.0.0.1:6379) under a unique prefix that it deletes at the end. It prints a
 * table and writes bench/results.json. Nothing here asserts on time: it measures and reports.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { commandBody, postSigned } from '../dev/fakes/signing';
import { startFakeSlack } from '../dev/fakes/slackServer';
import { startFakeZoom } from '../dev/fakes/zoomServer';
import { runAck, type AckResult } from './ack';
import { runBoot } from './boot';
import { spawnChild, type Child } from './child';
import { bulkAppId, fleetAppId, populate, writeAccountsFile } from './fleet';
import { runIdleHour } from './idleHour';
import { hotFunctions } from './profile';
import { dropPrefix, prefixMemory, serverDelta, serverSnapshot } from './redisStats';
import { runRender } from './render';
import { round, table } from './stats';

const args = process.argv.slice(2);
const FULL = args.includes('--full');
const PROFILE = args.includes('--profile');
/** Development aid: stop after the ingest and poll measurements (no results.json). */
const INGEST_ONLY = args.includes('--ingest-only');
const MODE = FULL ? 'full' : 'quick';

const PLAN = FULL
  ? { bulkApps: 10, bulkEntries: 1_000_000, fleetApps: 40, fleetEntriesPerApp: 5_000, rounds: 6 }
  : { bulkApps: 10, bulkEntries: 200_000, fleetApps: 40, fleetEntriesPerApp: 1_000, rounds: 4 };
const STATUS_COUNT = { 1: 40, 16: 240, 64: 384 } as const;
// At most 9 signatures per request per round (REQUIRED_APPROVALS=10 keeps every request live).
const CLICK_COUNT = { 1: 40, 16: 160, 64: 240 } as const;
const NEW_PER_APP = 1_000;
const PAGE = 100;

const SIGNING_SECRET = `bench-signing-${randomBytes(6).toString('hex')}`;
const BOT_TOKEN = `xoxb-bench-${randomBytes(6).toString('hex')}`;
const REQUESTER = 'U0REQUESTER';
const APPROVERS = Array.from({ length: 12 }, (_, i) => `U0APPROVER${String(i).padStart(2, '0')}`);
const HERE = __dirname;

const log = (line: string) => process.stdout.write(`${line}\n`);
const mb = (bytes: number) => round(bytes / 1_048_576, 1);

async function main(): Promise<void> {
  const started = Date.now();
  const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  const prefix = `zjt-bench-${randomBytes(4).toString('hex')}`;
  const work = join(tmpdir(), prefix);
  mkdirSync(work, { recursive: true });
  // Outside the checkout: profiles are evidence for a run, not files of the project.
  const profiles = join(tmpdir(), 'zoomjwt-bench-profiles');
  if (PROFILE) mkdirSync(profiles, { recursive: true });
  log(`zoomjwt benchmark (${MODE}) — prefix ${prefix}, logs in ${work}`);

  // 1. Render: pure functions, measured before anything else runs.
  const render = runRender(500, 100);
  log(`render: status p99 ${render.status.p99_ms} ms, digest p99 ${render.digest.p99_ms} ms (500 apps)`);

  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
  // A stalled connect under load is retried by ioredis; say so instead of an unhandled error event.
  redis.on('error', (err: Error) => log(`bench redis connection: ${err.message}`));
  const slack = await startFakeSlack();
  const zoom = await startFakeZoom();
  const children: Child[] = [];
  let ok = false;
  try {
    const teamId = slack.teamId;
    for (const id of [REQUESTER, ...APPROVERS]) slack.addUser({ id, name: id.toLowerCase(), team_id: teamId });
    const t0 = performance.now();
    const plan = populate(zoom, PLAN, Date.now());
    log(`fake zoom: ${plan.bulkEntries.toLocaleString('en')} entries over ${plan.bulkApps} bulk apps, ${(plan.fleetApps * plan.fleetEntriesPerApp).toLocaleString('en')} over ${plan.fleetApps} fleet apps (${Math.round(performance.now() - t0)} ms)`);
    const accountsFile = join(work, 'accounts.json');
    writeAccountsFile(accountsFile, zoom.apiUrl);

    const env = {
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      REDIS_URL: redisUrl,
      REDIS_PREFIX: prefix,
      ZOOM_ACCOUNTS_FILE: accountsFile,
      ZOOM_OAUTH_URL: zoom.oauthUrl,
      ZOOM_APP_IDS: [
        ...Array.from({ length: plan.bulkApps }, (_, i) => `bulk:${bulkAppId(i)}`),
        ...Array.from({ length: plan.fleetApps }, (_, i) => `fleet:${fleetAppId(i)}`),
      ].join(','),
      DIGEST_CHANNEL: 'C0DIGEST',
      APPROVALS_CHANNEL: 'C0APPROVALS',
      APPROVERS: APPROVERS.join(','),
      REQUIRED_APPROVALS: '10',
      POLL_EVERY: '0',
      ACTIONS_MODE: 'dry-run',
      LOG_LEVEL: 'info',
      PORT: '0',
      ROLE: 'all',
    };
    // 2a. Boot and /zoomjwt help, on the compiled entry point (its own prefix, no tracked apps).
    const boot = await runBoot({ ...env, REDIS_PREFIX: `${prefix}-boot`, ZOOM_APP_IDS: '' }, 210);
    await dropPrefix(redis, `${prefix}-boot`);
    log(`boot: /healthz after ${boot.to_healthz_ms} ms (start() ${boot.start_ms} ms); help ack p50 ${boot.help.p50_ms} ms, p99 ${boot.help.p99_ms} ms`);

    const app = await spawnChild(join(HERE, 'appProcess.ts'), env, join(work, 'app.log'));
    children.push(app);
    const baseline = await spawnChild(join(HERE, 'baseline.ts'), env, join(work, 'baseline.log'));
    children.push(baseline);
    const appUrl = `http://127.0.0.1:${app.port}/slack/events`;
    const baselineUrl = `http://127.0.0.1:${baseline.port}/slack/events`;
    log(`app on :${app.port}, bare Bolt baseline on :${baseline.port}`);

    // 2. Ingest: the bulk account's backfill, timed inside the app process.
    type PollReply = { result: { requests: number; ingested: number; complete: boolean; errors: unknown[] }; ms: number; cpuMs: number };
    const zoomCpu0 = process.cpuUsage();
    const snap0 = await serverSnapshot(redis);
    if (PROFILE) await app.call({ type: 'profile', on: true });
    const ingest = await app.call<PollReply>({ type: 'poll', account: 'bulk' });
    if (PROFILE) await app.call({ type: 'profile', on: false, path: join(profiles, 'ingest.cpuprofile') });
    const snap1 = await serverSnapshot(redis);
    const zoomCpu = process.cpuUsage(zoomCpu0);
    if (!ingest.result.complete || ingest.result.errors.length) throw new Error(`ingest poll did not complete: ${JSON.stringify(ingest.result)}`);
    const memory = await prefixMemory(redis, prefix);
    const usageBytes = ['usage', 'hours', 'families', 'sample', 'readstate', 'seen'].reduce((s, ns) => s + (memory.byNamespace[ns] ?? 0), 0);
    const entriesPerS = ingest.result.ingested / (ingest.ms / 1000);
    const ingestResult = {
      entries: ingest.result.ingested,
      apps: plan.bulkApps,
      days: 30,
      seconds: round(ingest.ms / 1000),
      entries_per_s: Math.round(entriesPerS),
      redis_bytes_per_entry: round(memory.bytes / ingest.result.ingested, 3),
      redis_usage_bytes_per_app_day: Math.round(usageBytes / (plan.bulkApps * 31)),
      redis_bytes_total: memory.bytes,
      redis_keys: memory.keys,
      zoom_requests: ingest.result.requests,
      app_cpu_s: round(ingest.cpuMs / 1000),
      fake_zoom_cpu_s: round((zoomCpu.user + zoomCpu.system) / 1e6),
      redis: serverDelta(snap0, snap1),
    };
    log(`ingest: ${ingest.result.ingested.toLocaleString('en')} entries in ${ingestResult.seconds} s = ${ingestResult.entries_per_s.toLocaleString('en')}/s; app CPU ${ingestResult.app_cpu_s} s, redis CPU ${ingestResult.redis.cpu_s} s, fake Zoom CPU ${ingestResult.fake_zoom_cpu_s} s; ${ingestResult.redis_bytes_per_entry} Redis bytes/entry`);

    // The fleet's backfill (status needs 30 days of data for all 50 apps); timed as a second figure.
    const fleet = await app.call<PollReply>({ type: 'poll', account: 'fleet' });
    log(`fleet backfill: ${fleet.result.ingested.toLocaleString('en')} entries in ${round(fleet.ms / 1000)} s`);

    // 3. Zoom API economy: 1,000 new entries per bulk app, then a poll; then a poll with nothing new.
    const newFrom = plan.backfillTop + 1_000;
    const newTo = Date.now() - 1_000;
    for (let i = 0; i < plan.bulkApps; i++) {
      zoom.generateLogs(bulkAppId(i), { count: NEW_PER_APP, fromMs: newFrom, toMs: newTo, seed: 1_000 + i });
    }
    const before = zoom.requests.length;
    const incremental = await app.call<PollReply>({ type: 'poll', account: 'bulk' });
    const spent = zoom.requests.slice(before);
    const minimum = plan.bulkApps * (Math.ceil(NEW_PER_APP / PAGE) + 1);
    // The first status after a poll that brought data reads every counter again (no memo yet).
    const cold = await postSigned(appUrl, commandBody({ text: 'status', team_id: teamId, user_id: REQUESTER, response_url: `${slack.responseUrlBase}status` }), { signingSecret: SIGNING_SECRET });
    const before2 = zoom.requests.length;
    const idle = await app.call<PollReply>({ type: 'poll', account: 'bulk' });
    const idleSpent = zoom.requests.length - before2;
    const poll = {
      new_entries: NEW_PER_APP * plan.bulkApps,
      ingested: incremental.result.ingested,
      requests: spent.length,
      call_log_requests: spent.filter((l) => l.includes('/api_call_logs')).length,
      minimum,
      requests_ratio_to_min: round(spent.length / minimum, 3),
      requests_when_nothing_new: idleSpent,
      status_after_poll_ms: round(cold.ms),
      ingested_when_nothing_new: idle.result.ingested,
    };
    log(`poll economy: ${poll.requests} requests for ${poll.ingested} new entries (minimum ${minimum}) → ratio ${poll.requests_ratio_to_min}; ${idleSpent} requests when nothing is new`);

    // 3b. The idle hour, with and without Zoom's usage fields (simulated clock, in this process).
    const idleHour = await runIdleHour(redis, prefix);
    Object.assign(poll, { idle_hour: idleHour });
    log(
      `idle hour (${idleHour.apps} apps, POLL_EVERY=15m): quiet apps ${idleHour.quiet.with_fields} requests with Zoom's usage fields vs ${idleHour.quiet.today} without (today); ` +
        `apps busy until they stopped ${idleHour.busy_until_idle.with_fields} vs ${idleHour.busy_until_idle.today}; ` +
        `then ${idleHour.after_new.requests} requests for ${idleHour.after_new.ingested} new entries (minimum ${idleHour.after_new.minimum}) → ratio ${idleHour.after_new.ratio_to_min}`,
    );

    if (INGEST_ONLY) {
      if (PROFILE) log(`ingest profile: ${JSON.stringify(hotFunctions(join(profiles, 'ingest.cpuprofile'), 25), null, 1)}`);
      log(`redis during ingest: ${JSON.stringify(ingestResult.redis)}`);
      ok = true;
      return;
    }

    // 4. Ack latency, app vs bare Bolt, interleaved rounds.
    let warmMark = 0;
    const afterGc: Array<{ round: number; heap: number; rss: number }> = [];
    const ack: AckResult = await runAck({
      appUrl,
      baselineUrl,
      signingSecret: SIGNING_SECRET,
      slack,
      teamId,
      appIds: [...Array.from({ length: plan.bulkApps }, (_, i) => bulkAppId(i)), ...Array.from({ length: plan.fleetApps }, (_, i) => fleetAppId(i))],
      requester: REQUESTER,
      approvers: APPROVERS,
      rounds: PLAN.rounds,
      cpu: { app: () => app.cpu(), baseline: () => baseline.cpu() },
      setBaselineStatus: async (json) => {
        await baseline.call({ type: 'status-answer', json });
      },
      statusCount: STATUS_COUNT,
      clickCount: CLICK_COUNT,
      onWarm: () => {
        warmMark = Date.now();
      },
      afterRound: async (round) => {
        const m = await app.call<{ heap: number; rss: number }>({ type: 'gc' });
        afterGc.push({ round, heap: m.heap, rss: m.rss });
      },
      around: PROFILE
        ? async (phase, kind) => {
            await app.call({ type: 'profile', on: phase === 'start', ...(phase === 'stop' ? { path: join(profiles, `${kind}.cpuprofile`) } : {}) });
          }
        : undefined,
      log,
    });

    // 5. Memory of the app process: RSS after warm-up vs at the end.
    const samples = await app.memory();
    const afterWarm = samples.filter((s) => s.t >= warmMark);
    const first = afterWarm[0] ?? samples[0]!;
    const last = samples[samples.length - 1]!;
    const memoryResult = {
      rss_growth_mb: mb(last.rss - first.rss),
      rss_after_warmup_mb: mb(first.rss),
      rss_end_mb: mb(last.rss),
      rss_peak_mb: mb(Math.max(...samples.map((s) => s.rss))),
      heap_after_warmup_mb: mb(first.heap),
      heap_end_mb: mb(last.heap),
      seconds_observed: Math.round((last.t - first.t) / 1000),
      baseline_rss_end_mb: mb((await baseline.memory()).at(-1)?.rss ?? 0),
      // Heap after a full collection at the end of each ack round (round 0 is the warm-up):
      // flat means nothing is retained per request.
      heap_after_gc_mb: afterGc.map((g) => mb(g.heap)),
      heap_after_gc_growth_mb: afterGc.length > 1 ? mb(afterGc[afterGc.length - 1]!.heap - afterGc[0]!.heap) : 0,
    };

    const c16 = (x: Record<string, { p99_ms: number }>) => x.c16?.p99_ms ?? Number.NaN;
    const results = {
      mode: MODE,
      command: FULL ? 'npm run bench -- --full' : 'npm run bench',
      date: new Date().toISOString(),
      machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memory_gb: round(totalmem() / 1e9, 1), node: process.version, platform: `${process.platform} ${process.arch}` },
      note: FULL ? undefined : `quick mode: ${PLAN.bulkEntries.toLocaleString('en')} ingest entries instead of 1,000,000 and ${PLAN.rounds} ack rounds; run with --full for the full figures`,
      ack: {
        tracked_apps: plan.bulkApps + plan.fleetApps,
        cpu_us_per_request: ack.cpu_us_per_request,
        levels: [1, 16, 64],
        rounds: ack.rounds,
        status: { p99_ms: c16(ack.status), answer_bytes: ack.status_answer_bytes, ...ack.status },
        click: { p99_ms: c16(ack.click), live_share: round(ack.live_clicks, 3), ...ack.click },
        baseline: { p99_ms: c16(ack.baseline), ...ack.baseline },
        baseline_tiny: { p99_ms: c16(ack.baseline_tiny), ...ack.baseline_tiny },
        baseline_click: { p99_ms: c16(ack.baseline_click), ...ack.baseline_click },
        // Against bare Bolt sending the same answer as a constant: what zoomjwt adds to Bolt.
        ratio_p99: round(c16(ack.status) / c16(ack.baseline)),
        // Against bare Bolt sending two words: what zoomjwt adds, and what sending 14 KB costs.
        ratio_p99_vs_tiny_answer: round(c16(ack.status) / c16(ack.baseline_tiny)),
        click_ratio_p99: round(c16(ack.click) / c16(ack.baseline_click)),
        max_ms_at_64: Math.max(ack.status.c64?.max_ms ?? 0, ack.click.c64?.max_ms ?? 0),
      },
      boot,
      ingest: ingestResult,
      fleet_backfill: { entries: fleet.result.ingested, seconds: round(fleet.ms / 1000), entries_per_s: Math.round(fleet.result.ingested / (fleet.ms / 1000)) },
      poll,
      render: { status_500_ms: render.status.p99_ms, digest_500_ms: render.digest.p99_ms, ...render },
      memory: memoryResult,
      targets: {} as Record<string, { target: string; value: number; met: boolean }>,
      profiles: undefined as unknown,
      seconds: 0,
    };
    const t = results.targets;
    t['ack.ratio_p99'] = { target: '≤ 1.2', value: results.ack.ratio_p99, met: results.ack.ratio_p99 <= 1.2 };
    t['ack.max_ms_at_64'] = { target: '≤ 1000', value: results.ack.max_ms_at_64, met: results.ack.max_ms_at_64 <= 1000 };
    t['ingest.entries_per_s'] = { target: '≥ 30000', value: ingestResult.entries_per_s, met: ingestResult.entries_per_s >= 30_000 };
    t['poll.requests_ratio_to_min'] = { target: '≤ 1.1', value: poll.requests_ratio_to_min, met: poll.requests_ratio_to_min <= 1.1 };
    t['poll.idle_hour_requests_with_usage_fields'] = { target: '≤ 20', value: idleHour.quiet.with_fields, met: idleHour.quiet.with_fields <= 20 };
    t['poll.idle_hour_after_new_ratio_to_min'] = { target: '≤ 1.1', value: idleHour.after_new.ratio_to_min, met: idleHour.after_new.ratio_to_min <= 1.1 };
    t['render.status_500_ms'] = { target: '≤ 20 (within Slack limits)', value: render.status.p99_ms, met: render.status.p99_ms <= 20 && render.status.within_limits };
    t['render.digest_500_ms'] = { target: '≤ 20 (within Slack limits)', value: render.digest.p99_ms, met: render.digest.p99_ms <= 20 && render.digest.within_limits };
    if (PROFILE) {
      results.profiles = {
        ingest: hotFunctions(join(profiles, 'ingest.cpuprofile')),
        status_c16: hotFunctions(join(profiles, 'status.cpuprofile')),
        click_c16: hotFunctions(join(profiles, 'click.cpuprofile')),
      };
    }
    results.seconds = Math.round((Date.now() - started) / 1000);

    log('');
    log(table(
      ['ack (ms)', 'c', 'p50', 'p99', 'max', 'req/s', 'errors'],
      (['status', 'baseline', 'baseline_tiny', 'click', 'baseline_click'] as const).flatMap((kind) =>
        [1, 16, 64].map((c) => {
          const s = ack[kind][`c${c}`]!;
          const label = { status: '/zoomjwt status', baseline: 'bare Bolt, same answer', baseline_tiny: 'bare Bolt, 2-word answer', click: 'approve click', baseline_click: 'bare Bolt, click' }[kind];
          return [label, c, s.p50_ms, s.p99_ms, s.max_ms, s.throughput_rps, s.errors];
        }),
      ),
    ));
    const cpu = ack.cpu_us_per_request;
    log(`CPU per request (µs, the process answering): status ${cpu['app:status']} vs bare Bolt ${cpu['baseline:status']} (same answer) and ${cpu['baseline_tiny:status']} (2 words); click ${cpu['app:click']} (with its answer and card update) vs bare Bolt ${cpu['baseline:click']}; status answer ${ack.status_answer_bytes} bytes`);
    log('');
    log(table(
      ['measure', 'value', 'target', 'met'],
      [
        ['ack.status.p99_ms (c16)', results.ack.status.p99_ms, '', ''],
        ['ack.click.p99_ms (c16)', results.ack.click.p99_ms, '', ''],
        ['ack.baseline.p99_ms (c16, same answer)', results.ack.baseline.p99_ms, '', ''],
        ['ack.baseline_tiny.p99_ms (c16, 2 words)', results.ack.baseline_tiny.p99_ms, '', ''],
        ['ack.ratio_p99_vs_tiny_answer', results.ack.ratio_p99_vs_tiny_answer, '', ''],
        ...Object.entries(t).map(([k, v]) => [k, v.value, v.target, v.met ? 'yes' : 'NO']),
        ['ingest.redis_bytes_per_entry', ingestResult.redis_bytes_per_entry, 'grows with app-days', ''],
        ['ingest.redis_usage_bytes_per_app_day', ingestResult.redis_usage_bytes_per_app_day, '', ''],
        ['poll.requests_when_nothing_new', poll.requests_when_nothing_new, '', ''],
        ['poll.idle_hour_requests_today (quiet apps, no usage fields)', idleHour.quiet.today, '', ''],
        ['poll.idle_hour_requests, apps busy until idle (with / today)', `${idleHour.busy_until_idle.with_fields} / ${idleHour.busy_until_idle.today}`, '', ''],
        ['status right after a poll (ms, c1)', poll.status_after_poll_ms, '', ''],
        ['memory.rss_growth_mb', memoryResult.rss_growth_mb, 'flat after warm-up', ''],
        ['memory.heap_after_gc_growth_mb', memoryResult.heap_after_gc_growth_mb, 'flat after warm-up', ''],
        ['boot.to_healthz_ms', boot.to_healthz_ms, '', ''],
        ['ack.help.p50_ms / p99_ms', `${boot.help.p50_ms} / ${boot.help.p99_ms}`, '', ''],
      ],
    ));
    if (PROFILE) log(`\nprofiles (${profiles}): ${JSON.stringify(results.profiles, null, 1)}`);
    writeFileSync(join(HERE, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    log(`\nwrote bench/results.json (${results.seconds} s)`);
    ok = true;
  } finally {
    for (const c of children) await c.stop().catch(() => undefined);
    await zoom.close();
    await slack.close();
    const dropped = await dropPrefix(redis, prefix).catch(() => 0);
    redis.disconnect();
    // Child logs stay for a post-mortem when the run failed.
    if (ok) rmSync(work, { recursive: true, force: true });
    log(`cleaned up ${dropped} Redis keys of ${prefix}`);
  }
}

void main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`benchmark failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
