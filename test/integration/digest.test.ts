/**
 * The daily digest end to end: the real app (worker included) against fake Slack, fake Zoom and
 * a real Redis. One message per local date however often and however concurrently it runs; a
 * same-day rerun edits it; its content comes from polled Zoom data and the pending requests.
 */
import { bootApp, startTestZoom, visibleText, type Booted } from '../helpers/boot';
import { ACCOUNT_ID, TEST_SECRETS } from '../helpers/env';
import { uniquePrefix } from '../helpers/redis';
import { until } from '../helpers/polls';
import { startFakeSlack, type FakeSlack, type SlackCall } from '../../dev/fakes/slackServer';
import type { FakeZoom } from '../../dev/fakes/zoomServer';
import { digestDate } from '../../src/capabilities/digest/model';
import { createDigestFeature } from '../../src/capabilities/digest/feature';
import { DIGEST_SCHEDULER_ID, runDigest } from '../../src/capabilities/digest/jobs/digest';
import { pollAccount } from '../../src/capabilities/evidence/jobs/pollAccount';
import { createRequestStore } from '../../src/capabilities/approvals/stores/requests';
import type { Services } from '../../src/services';
import type { AuditEntry } from '../../src/capabilities/audit/chain';
import { main as verifyMain } from '../../scripts/audit-verify';

const HOUR = 3_600_000;
const DIGEST_CHANNEL = 'C0DIGEST';

/** Digest posts (alerts share the channel; the digest's fallback text starts like this). */
const digestPosts = (slack: FakeSlack): SlackCall[] =>
  slack.callsTo('chat.postMessage').filter((c) => c.args.channel === DIGEST_CHANNEL && String(c.args.text).startsWith('zoomjwt digest'));

/** With the fake Zoom given to bootApp: the two apps the digest reports on, polled only when a test says. */
const DIGEST_ENV = { ZOOM_APP_IDS: 'app-scim,app-quiet', POLL_EVERY: '24h', LOG_LEVEL: 'warn' };

/** Every value under the install's prefix, as text (job data included), to look for secrets in. */
async function redisText(s: Services): Promise<string> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await s.redis.scan(cursor, 'MATCH', `${s.keys.base}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of found) {
      const type = await s.redis.type(key);
      if (type === 'string') out.push(String(await s.redis.get(key)));
      else if (type === 'hash') out.push(JSON.stringify(await s.redis.hgetall(key)));
      else if (type === 'list') out.push(JSON.stringify(await s.redis.lrange(key, 0, -1)));
      else if (type === 'set') out.push(JSON.stringify(await s.redis.smembers(key)));
      else if (type === 'zset') out.push(JSON.stringify(await s.redis.zrange(key, 0, -1)));
      else if (type === 'stream') out.push(JSON.stringify(await s.redis.xrange(key, '-', '+')));
    }
  } while (cursor !== '0');
  return out.join('\n');
}

async function poll(s: Services): Promise<void> {
  await pollAccount({ account: 'default', zoom: s.zoom.get('default')!, apps: s.apps, usage: s.usage, health: s.health, clock: s.clock, log: s.log });
}

describe('the daily digest', () => {
  let zoom: FakeZoom;
  let app: Booted;

  beforeAll(async () => {
    zoom = await startTestZoom();
    zoom.addApp(ACCOUNT_ID, { app_id: 'app-scim', app_name: 'Azure SCIM JWT' });
    zoom.addApp(ACCOUNT_ID, { app_id: 'app-quiet', app_name: 'Quiet Reports' });
    const now = Date.now();
    zoom.generateLogs('app-scim', {
      count: 120,
      fromMs: now - 20 * HOUR,
      toMs: now - HOUR,
      endpoints: [
        { method: 'GET', url: 'https://api.zoom.us/v2/scim2/Users/aBcDeFgHiJkLmNoPqRsT12', weight: 3 },
        { method: 'POST', url: 'https://api.zoom.us/v2/scim2/Users' },
      ],
    });
    // Keyed audit chain: the digest's closing head line is checked against it below.
    app = await bootApp('digest', { ...DIGEST_ENV, AUDIT_KEY: TEST_SECRETS.auditKey }, { zoom });
    await poll(app.running.services);
  });

  afterAll(async () => {
    await app?.stop();
    await zoom?.close();
  });

  it('posts once per day through /zoomjwt digest, and a same-day rerun edits that message', async () => {
    const s = app.running.services;
    const store = createRequestStore(s.redis, s.keys);
    const now = s.clock();
    const opened = await store.open({
      id: 'req-digest-1', action: 'disable', appId: 'app-quiet', account: 'default', appName: 'Quiet Reports',
      requester: 'U0ALICE', reason: 'migrated to S2S', createdAt: now, expiresAt: now + 5 * HOUR + 60_000, required: 2,
    });
    expect(opened.ok).toBe(true);
    await store.sign('req-digest-1', 'U0BOB', now);

    const first = await app.command('digest');
    expect(visibleText(first.json)).toMatch(/on its way to <#C0DIGEST>/);
    const posted = await until(() => digestPosts(app.slack)[0], 'the digest post', { timeoutMs: 10_000, everyMs: 50 });
    const ts = (await until(() => [...app.slack.messages.values()].find((m) => m.text.startsWith('zoomjwt digest')), 'the stored message', { timeoutMs: 5_000, everyMs: 50 })).ts;

    const text = visibleText(posted.args);
    const today = digestDate(now, 'UTC');
    expect(text).toContain(`zoomjwt digest — ${today}`);
    expect(text).toContain('*2* tracked');
    expect(text).toContain('*120* calls in the last 24 h');
    // Still active: the polled app, its calls, its endpoints and the guessed integration.
    expect(text).toMatch(/\*Azure SCIM JWT\* — 120 calls 24 h \(new\), 120 \/ 7 d/);
    expect(text).toContain('GET /scim2/Users/{userId}');
    expect(text).toMatch(/likely: SCIM provisioning from Azure AD/);
    // Needs a person: the pending request with who signed and the time left.
    expect(text).toMatch(/\*disable\* Quiet Reports — asked by <@U0ALICE>, 1\/2 signed \(<@U0BOB>\), expires in 5 h/);
    // Quiet Reports has a pending request, so it is not offered for disabling a second time.
    expect(text).not.toMatch(/Quiet Reports is silent/);

    // Clicks while a digest job is queued or running collapse into it: let this one finish first.
    await until(
      async () => Object.values(await s.queues.digest.getJobCounts('active', 'waiting', 'prioritized')).every((n) => n === 0),
      'the first digest job to finish',
      { timeoutMs: 10_000, everyMs: 50 },
    );
    await app.command('digest');
    await until(() => app.slack.callsTo('chat.update').find((c) => c.args.ts === ts), 'the digest update', { timeoutMs: 10_000, everyMs: 50 });
    expect(digestPosts(app.slack)).toHaveLength(1);
    expect(app.slack.message(DIGEST_CHANNEL, ts)?.updates).toBe(1);

    const audit = await s.audit.latest(20);
    expect(audit.filter((e) => e.type === 'digest.posted')).toHaveLength(1);
  });

  it('shows calls per day as a native chart, and posts the text fallback where Slack refuses it, remembered', async () => {
    const s = app.running.services;
    const deps = createDigestFeature(s).deps;
    const memory = s.keys.k('native-refused', s.slackIdentity.teamId);
    // Other dates than the first test's, so each run posts a message of its own.
    const native = await runDigest(deps, { at: s.clock() + 40 * 86_400_000 });
    const blocks = app.slack.message(native.channel, native.ts)!.blocks as Array<Record<string, any>>;
    const chart = blocks.find((b) => b.type === 'data_visualization')!;
    expect(chart.title).toBe('Calls per day, last 14 days (UTC)');
    expect(chart.chart.series.map((x: { name: string }) => x.name)).toEqual(['Successful', 'Failed']);
    // 14 days fit one series: one bar per day, and the 120 polled calls are all in it.
    expect(chart.chart.axis_config.categories).toHaveLength(14);
    const sum = chart.chart.series.flatMap((x: { data: Array<{ value: number }> }) => x.data).reduce((n: number, p: { value: number }) => n + p.value, 0);
    expect(sum).toBe(120);

    app.slack.refuseBlockTypes(['data_visualization', 'table', 'data_table']);
    try {
      const declined = app.slack.declined.length;
      const refused = await runDigest(deps, { at: s.clock() + 41 * 86_400_000 });
      expect(app.slack.declined.length).toBe(declined + 1);
      const stored = app.slack.message(refused.channel, refused.ts)!;
      expect(stored.blocks.map((b) => (b as { type: string }).type)).not.toContain('data_visualization');
      expect(visibleText(stored)).toMatch(/Calls per day, last 14 days \(UTC\)\*\n`[▁▂▃▄▅▆▇█]{14}`/);
      expect(await s.redis.exists(memory)).toBe(1);
      // Remembered: the next digest goes straight to the fallback, with nothing refused.
      const next = await runDigest(deps, { at: s.clock() + 42 * 86_400_000 });
      expect(app.slack.declined.length).toBe(declined + 1);
      expect(visibleText(app.slack.message(next.channel, next.ts))).toMatch(/`[▁▂▃▄▅▆▇█]{14}`/);
    } finally {
      app.slack.refuseBlockTypes([]);
      await s.redis.del(memory);
    }
  });

  it('ends with the audit head, which audit:verify checks the log still reaches', async () => {
    const s = app.running.services;
    await s.audit.append({ type: 'alert', actor: 'system', summary: 'an entry before the digest' });
    const before = (await s.audit.head())!;
    await runDigest(createDigestFeature(s).deps);
    const last = app.slack.callsTo('chat.postMessage').concat(app.slack.callsTo('chat.update')).filter((c) => String(c.args.text).startsWith('zoomjwt digest')).pop()!;
    const blocks = last.args.blocks as Array<{ type: string; elements?: Array<{ text: string }> }>;
    const closing = blocks[blocks.length - 1]!;
    expect(closing.type).toBe('context');
    const line = closing.elements!.map((e) => e.text).join(' ');
    const short = before.hash.slice(0, 12);
    expect(line).toBe(`Audit log: *${before.count}* entries, head \`${short}\` · check it later with \`npm run audit:verify -- --head ${short} --count ${before.count}\``);

    // The entries are chained under AUDIT_KEY, which is kept out of Redis (job data included).
    const entries: AuditEntry[] = [];
    for await (const e of s.audit.iterate()) entries.push(e);
    expect(entries[0]).toMatchObject({ type: 'config', chain: 'hmac-sha256' });
    expect(entries.every((e) => e.chain === 'hmac-sha256')).toBe(true);
    expect(await redisText(s)).not.toContain(TEST_SECRETS.auditKey);

    const lines: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) };
    const env = { REDIS_URL: app.config.redis.url, REDIS_PREFIX: app.config.redis.prefix, AUDIT_KEY: TEST_SECRETS.auditKey };
    const args = ['--head', short, '--count', String(before.count)];
    expect(await verifyMain(env, io, args)).toBe(0);
    expect(lines.join('\n')).toContain(`reaches head ${short} at entry ${before.count}`);
    // Without the key the keyed entries cannot be checked: exit 2, not OK.
    expect(await verifyMain({ ...env, AUDIT_KEY: undefined }, io, args)).toBe(2);
  });

  // Each case a date of its own, away from every other test's (+5, +40..42 days): a date another
  // test already posted is edited, not posted, and the armed failure would leak into the next case.
  it.each([
    ['a 5xx', { status: 503 }, 100],
    ['a 429', { status: 429, retryAfter: 1 }, 101],
    ['a platform error', { error: 'internal_error' }, 102],
  ])('a post that fails with %s does not lose the day: the retry posts it', async (_what, failure, days) => {
    const s = app.running.services;
    const deps = { ...createDigestFeature(s).deps, sleep: async () => undefined };
    const at = s.clock() + days * 86_400_000;
    const date = digestDate(at, 'UTC');
    app.slack.fail('chat.postMessage', failure);

    await expect(runDigest(deps, { at })).rejects.toThrow();
    const retried = await runDigest(deps, { at });

    expect(retried).toMatchObject({ date, action: 'posted' });
    expect(digestPosts(app.slack).filter((c) => String(c.args.text).includes(date))).toHaveLength(2);
    expect(app.slack.message(retried.channel, retried.ts)?.text).toContain(date);
  });

  it('says polling is broken instead of calling quiet apps silent when Zoom refuses the credentials', async () => {
    const s = app.running.services;
    zoom.revokeTokens();
    zoom.failNext(10, { status: 401, body: { code: 124, message: 'Invalid access token.' } });
    await poll(s);
    const deps = createDigestFeature(s).deps;
    const at = s.clock() + 5 * 86_400_000; // a later date: a fresh post we can read
    await runDigest(deps, { at });
    const post = digestPosts(app.slack).find((c) => String(c.args.text).includes(digestDate(at, 'UTC')));
    const text = visibleText(post!.args);
    expect(text).toMatch(/Problems \([1-9]/);
    expect(text).toMatch(/(authentication failed|polling failing) since/);
  });
});

describe('several processes', () => {
  const prefix = uniquePrefix('digest2');
  let zoom: FakeZoom;
  let slack: FakeSlack;
  let a: Booted;
  let b: Booted;

  beforeAll(async () => {
    zoom = await startTestZoom();
    slack = await startFakeSlack();
    const env = { ...DIGEST_ENV, REDIS_PREFIX: prefix, DIGEST_CRON: '* * * * *', DIGEST_TZ: 'Europe/Paris' };
    [a, b] = await Promise.all([bootApp('digest2', env, { slack, zoom }), bootApp('digest2', env, { slack, zoom })]);
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await slack?.close();
    await zoom?.close();
  });

  it('leave exactly one digest schedule, in the configured time zone', async () => {
    const schedulers = (await a.running.services.queues.digest.getJobSchedulers()).filter((j) => j.key === DIGEST_SCHEDULER_ID);
    expect(schedulers).toHaveLength(1);
    expect(schedulers[0]!.pattern).toBe('* * * * *');
    expect(schedulers[0]!.tz).toBe('Europe/Paris');
  });

  it('produce one message for the date when many runs race', async () => {
    const at = Date.now() + 10 * 86_400_000; // a date no scheduled run can reach during the test
    const runs = [a, b, a, b, a, b].map((p) => runDigest(createDigestFeature(p.running.services).deps, { at }));
    const results = await Promise.all(runs);
    expect(results.filter((r) => r.action === 'posted')).toHaveLength(1);
    expect(results.filter((r) => r.action === 'updated')).toHaveLength(5);
    expect(new Set(results.map((r) => r.ts)).size).toBe(1);
    const date = digestDate(at, 'Europe/Paris');
    expect(digestPosts(slack).filter((c) => String(c.args.text).includes(date))).toHaveLength(1);
  });

  it(
    'with a one-minute schedule, post once for the date and then update it',
    async () => {
      // Wait for a scheduled run of the digest (next minute boundary, either process).
      const completed = await until(
        async () => {
          const jobs = await a.running.services.queues.digest.getCompleted();
          const scheduled = jobs.filter((j) => String(j.id).startsWith(`repeat:${DIGEST_SCHEDULER_ID}:`));
          return scheduled.length > 0 ? scheduled : undefined;
        },
        'a scheduled digest run',
        { timeoutMs: 70_000, everyMs: 250 },
      );
      const job = completed[0]!;
      const scheduledAt = Number(String(job.id).split(':').pop());
      // The run stands for its scheduled instant, so its date is that instant's local date.
      expect((job.returnvalue as { date: string }).date).toBe(digestDate(scheduledAt, 'Europe/Paris'));
      const postsFor = (date: string) => digestPosts(slack).filter((c) => String(c.args.text).includes(date));
      const date = digestDate(scheduledAt, 'Europe/Paris');
      expect(postsFor(date)).toHaveLength(1);
      // A rerun the same day (what the next minute's run does) edits the message.
      const again = await runDigest(createDigestFeature(b.running.services).deps, { at: scheduledAt });
      expect(again.action).toBe('updated');
      expect(postsFor(date)).toHaveLength(1);
    },
    90_000,
  );
});
