import type { Redis } from 'ioredis';
import { slackClientOptions } from '../../src/platform/slack/app';
import { createSlackClient } from '../../src/platform/slack/client';
import { createSlackTransport } from '../../src/platform/slack/transport';
import { createKeys } from '../../src/platform/redis/keys';
import { createLogger } from '../../src/log';
import { createMetrics } from '../../src/metrics';
import { loadConfig } from '../../src/config';
import { startFakeSlack, type FakeSlack } from '../../dev/fakes/slackServer';
import { logSink } from '../helpers/logs';
import { baseEnv, TEST_SECRETS } from '../helpers/env';
import { dropPrefix, openRedis, uniquePrefix } from '../helpers/redis';

let slack: FakeSlack;
let redis: Redis;
const prefix = uniquePrefix('slackclient');
const lines: string[] = [];
const sink = logSink(lines);
// Every call of this file goes to the fake Slack on loopback.
let transport: ReturnType<typeof createSlackTransport>;
let now = 1_800_000_000_000;

function client() {
  const config = loadConfig(baseEnv({ SLACK_API_URL: slack.apiUrl }));
  const { log } = createLogger({ level: 'debug', secrets: [TEST_SECRETS.botToken] }, sink);
  return createSlackClient({ token: TEST_SECRETS.botToken, options: slackClientOptions(config, transport, log), redis, keys: createKeys(prefix), log, metrics: createMetrics({ defaultMetrics: false }), clock: () => now });
}

beforeAll(async () => {
  slack = await startFakeSlack();
  transport = createSlackTransport({ policy: { apiUrl: slack.apiUrl, responseOrigins: [], onRefused: () => undefined } });
  redis = openRedis();
});
afterAll(async () => {
  await slack.close();
  redis.disconnect();
  transport.close();
  await dropPrefix(prefix);
});

it('records channel problems as sentences until the same call succeeds again', async () => {
  const { client: web, health } = client();
  slack.fail('chat.postMessage', { error: 'not_in_channel' });
  await expect(web.chat.postMessage({ channel: 'C0DIGEST', text: 'hi' })).rejects.toThrow();
  let problems = await health.problems(now);
  expect(problems).toEqual([expect.objectContaining({ method: 'chat.postMessage', error: 'not_in_channel', channel: 'C0DIGEST', count: 1 })]);
  expect(problems[0]!.sentence).toMatch(/invite it with \/invite @zoomjwt/);
  expect(lines.some((l) => l.includes('"error":"not_in_channel"') && l.includes('"level":40'))).toBe(true);

  now += 1000;
  await web.chat.postMessage({ channel: 'C0DIGEST', text: 'hi again' });
  problems = await health.problems(now);
  expect(problems).toEqual([]);
});

it('reports rate limits and bad tokens without retrying (no double posts)', async () => {
  const { client: web, health } = client();
  const before = slack.callsTo('chat.update').length;
  slack.fail('chat.update', { status: 429, retryAfter: 7 });
  await expect(web.chat.update({ channel: 'C0APPROVALS', ts: '1.1', text: 'x' })).rejects.toThrow();
  expect(slack.callsTo('chat.update').length - before).toBe(1);
  slack.fail('chat.postMessage', { error: 'invalid_auth' });
  await expect(web.chat.postMessage({ channel: 'C0APPROVALS', text: 'x' })).rejects.toThrow();
  const problems = await health.problems(now);
  expect(problems.map((p) => p.error).sort()).toEqual(['invalid_auth', 'ratelimited']);
  expect(lines.join('\n')).not.toContain(TEST_SECRETS.botToken);
});
