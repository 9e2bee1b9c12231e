/**
 * The Slack transport (src/platform/slack/transport.ts) against a loopback HTTP server, directly and under
 * the Web API client: what reaches the server, what the caller reads back, and the limits (a
 * signal, the default timeout, redirects, size, compression). Everything else in the suite also
 * runs through it, since the app uses it for every Slack call and every response URL.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { webApi } from '@slack/bolt';
import { createSlackTransport, MAX_RESPONSE_BYTES } from '../../src/platform/slack/transport';
import { closeServer, listenLocal } from '../helpers/net';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let server: Server;
let base: string;
const seen: Seen[] = [];
let handler: (req: IncomingMessage, res: ServerResponse, body: string) => void;
const hanging: ServerResponse[] = [];
const refusedUrls: string[] = [];
// The loopback server stands in for the Web API; response URLs may go only to Slack's hook hosts.
let transport: ReturnType<typeof createSlackTransport>;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, res, body);
    });
  });
  base = await listenLocal(server);
  // The loopback server stands in for the Web API and for Slack's hooks host.
  transport = createSlackTransport({
    timeoutMs: 300,
    policy: { apiUrl: `${base}/`, responseOrigins: ['https://hooks.slack.com', 'https://hooks.slack-gov.com', base], onRefused: (u) => void refusedUrls.push(u.href) },
  });
});
afterAll(async () => {
  for (const res of hanging) res.destroy();
  transport.close();
  await closeServer(server);
});
beforeEach(() => {
  seen.length = 0;
});

const json = (res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(value));
};

it('sends method, headers and body as given, and hands back status, headers, url and body', async () => {
  handler = (_req, res) => json(res, 200, { ok: true, echo: 'é' }, { 'x-oauth-scopes': 'chat:write, users:read' });
  const res = await transport.fetch(`${base}/respond/abc?x=1`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Extra': 'yes' },
    body: JSON.stringify({ text: 'héllo' }),
  });
  expect(seen[0]).toMatchObject({ method: 'POST', url: '/respond/abc?x=1', body: '{"text":"héllo"}' });
  expect(seen[0]!.headers).toMatchObject({ 'content-type': 'application/json', 'x-extra': 'yes', 'content-length': String(Buffer.byteLength('{"text":"héllo"}')) });
  expect(res.ok).toBe(true);
  expect(res.status).toBe(200);
  expect(res.url).toBe(`${base}/respond/abc?x=1`);
  expect(res.headers.get('x-oauth-scopes')).toBe('chat:write, users:read');
  expect(await res.json()).toEqual({ ok: true, echo: 'é' });
  // As with fetch, a body is read once.
  expect(res.bodyUsed).toBe(true);
  await expect(res.text()).rejects.toThrow(TypeError);
});

it('reports a non-2xx answer as a response, not an error, as fetch does', async () => {
  handler = (_req, res) => json(res, 404, { error: 'expired_url' });
  const res = await transport.fetch(`${base}/respond/old`, { method: 'POST', body: '{}' });
  expect([res.ok, res.status]).toEqual([false, 404]);
  expect(await res.text()).toBe('{"error":"expired_url"}');
});

it('carries the Web API client: form body, token header, and Slack errors and 429s as the client defines them', async () => {
  const web = new webApi.WebClient('xoxb-transport-test', { slackApiUrl: `${base}/api/`, fetch: transport.fetch, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true });
  handler = (req, res, body) => {
    if (req.url === '/api/chat.postMessage') return json(res, 200, { ok: true, ts: '1.2', channel: new URLSearchParams(body).get('channel') });
    if (req.url === '/api/chat.update') return json(res, 429, { ok: false, error: 'ratelimited' }, { 'retry-after': '7' });
    return json(res, 200, { ok: false, error: 'channel_not_found' });
  };
  const posted = await web.chat.postMessage({ channel: 'C0TRANSPORT', text: 'hi', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'hi' } }] });
  expect(posted).toMatchObject({ ok: true, ts: '1.2', channel: 'C0TRANSPORT' });
  expect(seen[0]!.headers.authorization).toBe('Bearer xoxb-transport-test');
  expect(new URLSearchParams(seen[0]!.body).get('blocks')).toBe('[{"type":"section","text":{"type":"mrkdwn","text":"hi"}}]');

  await expect(web.chat.update({ channel: 'C1', ts: '1.2', text: 'x' })).rejects.toMatchObject({ code: webApi.ErrorCode.RateLimitedError, retryAfter: 7 });
  await expect(web.users.info({ user: 'U1' })).rejects.toMatchObject({ code: webApi.ErrorCode.PlatformError, data: { error: 'channel_not_found' } });
});

it('gives up on a server that never answers: by the caller\'s signal, or by its own limit when there is none', async () => {
  handler = (_req, res) => {
    hanging.push(res);
  };
  const web = new webApi.WebClient('xoxb-transport-test', { slackApiUrl: `${base}/api/`, fetch: transport.fetch, retryConfig: { retries: 0 }, timeout: 200, logLevel: webApi.LogLevel.ERROR });
  await expect(web.chat.postMessage({ channel: 'C1', text: 'x' })).rejects.toMatchObject({ code: webApi.ErrorCode.RequestError });

  const started = Date.now();
  await expect(transport.fetch(`${base}/respond/hang`, { method: 'POST', body: '{}' })).rejects.toThrow(/no answer from 127\.0\.0\.1:\d+ within 300 ms/);
  expect(Date.now() - started).toBeGreaterThanOrEqual(250);

  const aborted = new AbortController();
  aborted.abort(new Error('called off'));
  await expect(transport.fetch(`${base}/respond/never`, { method: 'POST', body: '{}', signal: aborted.signal })).rejects.toThrow('called off');
});

it('refuses redirects when asked to, decodes a compressed answer, and stops reading an oversized one', async () => {
  handler = (req, res) => {
    if (req.url === '/redirect') {
      res.writeHead(302, { location: 'https://elsewhere.example/' });
      res.end();
      return;
    }
    if (req.url === '/gzip') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end(gzipSync(JSON.stringify({ ok: true, packed: true })));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(1024 * 1024, 32);
    let sent = 0;
    const more = () => {
      while (sent <= MAX_RESPONSE_BYTES && res.write(chunk)) sent += chunk.length;
      if (sent <= MAX_RESPONSE_BYTES) res.once('drain', more);
      else res.end();
    };
    res.on('error', () => undefined);
    more();
  };
  await expect(transport.fetch(`${base}/redirect`, { method: 'POST', body: 'x', redirect: 'error' })).rejects.toThrow(/redirect \(302\) refused/);
  const kept = await transport.fetch(`${base}/redirect`, { method: 'POST', body: 'x' });
  expect([kept.status, kept.headers.get('location')]).toEqual([302, 'https://elsewhere.example/']);

  const packed = await transport.fetch(`${base}/gzip`, { method: 'GET' });
  expect(packed.headers.get('content-encoding')).toBeNull();
  expect(await packed.json()).toEqual({ ok: true, packed: true });

  await expect(transport.fetch(`${base}/huge`, { method: 'GET' })).rejects.toThrow(/larger than/);
});

it('hands bodies it does not handle (a multipart upload) to the global fetch', async () => {
  handler = (_req, res) => json(res, 200, { ok: true });
  const form = new FormData();
  form.append('file', new Blob(['col1,col2\n']), 'report.csv');
  const res = await transport.fetch(`${base}/upload`, { method: 'POST', body: form });
  expect(res.status).toBe(200);
  expect(seen[0]!.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
  expect(seen[0]!.body).toContain('filename="report.csv"');
});

describe('destination policy', () => {
  it.each([
    ['another host', 'https://evil.example/respond/1'],
    ['a look-alike of the hook host', 'https://hooks.slack.com.evil.example/commands/1'],
    ['the hook host over plain http', 'http://hooks.slack.com/commands/1'],
    ['the hook host on another port', 'https://hooks.slack.com:8443/commands/1'],
    ['credentials before the host', 'https://hooks.slack.com@evil.example/x'],
    ['another loopback port', 'http://127.0.0.1:9/respond'],
    ['localhost by another name', 'http://localhost:9/respond'],
    ['a file URL', 'file:///etc/passwd'],
  ])('never calls %s, and reports each URL once', async (_name, target) => {
    seen.length = 0;
    const before = refusedUrls.length;
    for (let i = 0; i < 3; i++) {
      await expect(transport.fetch(target, { method: 'POST', body: '{}' })).rejects.toMatchObject({ code: 'slack_destination_refused' });
    }
    await expect(transport.fetch(new URL(target), { method: 'POST', body: new URLSearchParams({ a: '1' }) })).rejects.toMatchObject({ code: 'slack_destination_refused' });
    expect(refusedUrls.slice(before)).toEqual([new URL(target).href]);
    expect(seen).toHaveLength(0);
  });

  it('refuses on the global-fetch path too (a body only fetch handles)', async () => {
    await expect(transport.fetch('https://evil.example/upload', { method: 'POST', body: new Blob(['x']) })).rejects.toMatchObject({ code: 'slack_destination_refused' });
  });
});
