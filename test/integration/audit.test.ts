import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { main as verifyMain } from '../../scripts/audit-verify';
import { createAuditRoute } from '../../src/http/auditRoute';
import { createLogger } from '../../src/log';
import {
  AuditError,
  createAuditLog,
  entryHash,
  GENESIS_HASH,
  type AuditEntry,
  type AuditInput,
  type AuditLog,
} from '../../src/store/audit';
import { createKeys, type Keys } from '../../src/store/keys';
import { dropPrefix } from '../helpers/env';

const REDIS_URL = 'redis://127.0.0.1:6379';
const FILE_PREFIX = `zjt-test-audit-${randomBytes(4).toString('hex')}`;
const T0 = Date.UTC(2024, 4, 1, 9, 0, 0);

const connections: Redis[] = [];
function connect(): Redis {
  const redis = new Redis(REDIS_URL, { enableAutoPipelining: true, maxRetriesPerRequest: 2 });
  connections.push(redis);
  return redis;
}

let redis: Redis;
let n = 0;

beforeAll(() => {
  redis = connect();
});

afterAll(async () => {
  await dropPrefix(FILE_PREFIX, undefined, { family: true });
  await Promise.all(connections.map((c) => (c.status === 'end' ? undefined : c.quit())));
});

/** A fresh install (own prefix) with a controllable clock. */
function setup(conn: Redis = redis) {
  const prefix = `${FILE_PREFIX}-${++n}`;
  const keys = createKeys(prefix);
  const clock = { now: T0 };
  const audit = createAuditLog({ redis: conn, keys, clock: () => clock.now });
  return { prefix, keys, clock, audit };
}

const entry = (over: Partial<AuditInput> = {}): AuditInput => ({
  type: 'request.opened',
  actor: 'U0ALICE',
  appId: 'appA',
  account: 'default',
  requestId: 'r1',
  summary: 'Alice asked to disable appA',
  ...over,
});

/** Rewrites the stream through raw commands: copy every entry to a new key, changing one, then swap. */
async function rewriteStream(keys: Keys, change: (id: string, fields: string[]) => string[] | null): Promise<void> {
  const rows = (await redis.xrange(keys.k('audit'), '-', '+')) as Array<[string, string[]]>;
  const tmp = keys.k('audit', 'tampered');
  for (const [id, fields] of rows) {
    const out = change(id, fields);
    if (out) await redis.xadd(tmp, id, ...out);
  }
  await redis.rename(tmp, keys.k('audit'));
}

function setField(fields: string[], name: string, value: string): string[] {
  const copy = [...fields];
  const i = copy.indexOf(name);
  copy[i + 1] = value;
  return copy;
}

describe('audit log chain', () => {
  it('chains each entry to the previous hash and verifies', async () => {
    const { audit, clock, keys } = setup();
    const a = await audit.append(entry({ details: { reason: 'unused', days: 30, dryRun: true, note: null } }));
    clock.now += 1_000;
    const b = await audit.append(entry({ type: 'request.signed', actor: 'U0BOB', summary: 'Bob signed' }));
    clock.now += 1_000;
    const c = await audit.append(entry({ type: 'alert', actor: 'system', appId: undefined, requestId: undefined, summary: 'Zoom auth failed' }));

    expect(a.prev).toBe(GENESIS_HASH);
    expect(b.prev).toBe(a.hash);
    expect(c.prev).toBe(b.hash);
    const { id: _id, hash, ...rest } = b;
    expect(entryHash(rest)).toBe(hash);
    // The stream id carries the entry's own time, so ranges by time line up with ids.
    expect([a.id, b.id, c.id]).toEqual([`${T0}-0`, `${T0 + 1000}-0`, `${T0 + 2000}-0`]);
    expect(await redis.get(keys.k('audit', 'head'))).toBe(c.hash);

    const stored = await audit.latest(10);
    expect(stored).toEqual([c, b, a]);
    expect(stored[2]!.details).toEqual({ reason: 'unused', days: 30, dryRun: true, note: null });
    expect(await audit.verify()).toEqual({ ok: true, count: 3, head: c.hash });
  });

  it('keeps ids increasing when appends share a millisecond or the clock steps back', async () => {
    const { audit, clock } = setup();
    const a = await audit.append(entry());
    const b = await audit.append(entry());
    clock.now -= 5_000;
    const c = await audit.append(entry());
    expect([a.id, b.id, c.id]).toEqual([`${T0}-0`, `${T0}-1`, `${T0}-2`]);
    expect(c.at).toBe(T0 - 5_000);
    expect((await audit.verify()).ok).toBe(true);
  });

  it('rejects an entry without a known type or a summary', async () => {
    const { audit } = setup();
    await expect(audit.append(entry({ type: 'bogus' as AuditInput['type'] }))).rejects.toMatchObject({ code: 'audit_invalid' });
    await expect(audit.append(entry({ summary: ' ' }))).rejects.toBeInstanceOf(AuditError);
    // Nothing was written, not even the install marker: this prefix still holds no install.
    expect(await audit.verify()).toMatchObject({ ok: false, unverifiable: true, reason: expect.stringContaining('no zoomjwt install') });
    await audit.markInstalled();
    expect(await audit.verify()).toEqual({ ok: true, count: 0 });
  });

  it('lands 50 concurrent appends from two processes on one unbroken chain', async () => {
    const { keys } = setup();
    const conns = [connect(), connect()];
    const logs = conns.map((conn) => createAuditLog({ redis: conn, keys, clock: () => T0 }));
    const appended = await Promise.all(
      Array.from({ length: 50 }, (_, i) => logs[i % 2]!.append(entry({ summary: `append ${i}` }))),
    );

    expect(new Set(appended.map((e) => e.id)).size).toBe(50);
    expect(await redis.xlen(keys.k('audit'))).toBe(50);
    const reader = createAuditLog({ redis, keys, clock: () => T0 });
    const all: AuditEntry[] = [];
    for await (const e of reader.iterate(7)) all.push(e);
    expect(all.map((e) => e.summary).sort()).toEqual(Array.from({ length: 50 }, (_, i) => `append ${i}`).sort());
    // Every entry hangs off a distinct predecessor: no two appends chained to the same head.
    expect(new Set(all.map((e) => e.prev)).size).toBe(50);
    expect(await reader.verify()).toMatchObject({ ok: true, count: 50 });
    expect(await redis.get(keys.k('audit', 'count'))).toBe('50');
  });
});

describe('audit log tamper evidence', () => {
  async function fiveEntries() {
    const ctx = setup();
    const entries: AuditEntry[] = [];
    for (let i = 0; i < 5; i++) {
      ctx.clock.now = T0 + i * 1_000;
      entries.push(await ctx.audit.append(entry({ summary: `step ${i}` })));
    }
    return { ...ctx, entries };
  }

  it('fails at the entry whose field was edited', async () => {
    const { audit, keys, entries } = await fiveEntries();
    const target = entries[2]!.id;
    await rewriteStream(keys, (id, fields) => (id === target ? setField(fields, 'actor', 'U0MALLORY') : fields));
    expect(await audit.verify()).toMatchObject({ ok: false, count: 2, firstBadId: target, reason: expect.stringContaining('edited') });
  });

  it('fails at the next entry when an edited entry also had its hash recomputed', async () => {
    const { audit, keys, entries } = await fiveEntries();
    const target = entries[2]!;
    const forged = { ...target, summary: 'nothing happened' };
    const { id: _id, hash: _hash, ...rest } = forged;
    await rewriteStream(keys, (id, fields) =>
      id === target.id ? setField(setField(fields, 'summary', forged.summary), 'hash', entryHash(rest)) : fields,
    );
    expect(await audit.verify()).toMatchObject({ ok: false, firstBadId: entries[3]!.id, reason: expect.stringContaining('prev') });
  });

  it('fails after a middle entry is deleted, at the entry that followed it', async () => {
    const { audit, keys, entries } = await fiveEntries();
    await redis.xdel(keys.k('audit'), entries[1]!.id);
    expect(await audit.verify()).toMatchObject({ ok: false, count: 1, firstBadId: entries[2]!.id });
  });

  it('fails when the first entry is deleted', async () => {
    const { audit, keys, entries } = await fiveEntries();
    await redis.xdel(keys.k('audit'), entries[0]!.id);
    expect(await audit.verify()).toMatchObject({ ok: false, count: 0, firstBadId: entries[1]!.id });
  });

  it('fails when the last entry is deleted, because the head no longer matches', async () => {
    const { audit, keys, entries } = await fiveEntries();
    await redis.xdel(keys.k('audit'), entries[4]!.id);
    expect(await audit.verify()).toMatchObject({ ok: false, count: 4, firstBadId: entries[3]!.id, reason: expect.stringContaining('head') });
  });

  it('refuses to append, and verify fails, when the head key is gone but entries remain', async () => {
    const { audit, keys } = await fiveEntries();
    await redis.del(keys.k('audit', 'head'));
    // A fresh log instance on another connection, so no cached head hides the problem.
    const other = createAuditLog({ redis: connect(), keys, clock: () => T0 });
    await expect(other.append(entry())).rejects.toMatchObject({ code: 'audit_head_missing' });
    await expect(audit.append(entry())).rejects.toMatchObject({ code: 'audit_head_missing' });
    expect(await redis.xlen(keys.k('audit'))).toBe(5);
    expect(await audit.verify()).toMatchObject({ ok: false, reason: expect.stringContaining('head') });
  });
});

describe('audit log queries', () => {
  it('latest() returns newest first, filtered by app or request', async () => {
    const { audit, clock } = setup();
    const made: AuditEntry[] = [];
    for (let i = 0; i < 12; i++) {
      clock.now = T0 + i * 60_000;
      made.push(await audit.append(entry({ appId: i % 3 === 0 ? 'appX' : 'appY', requestId: `r${i % 2}`, summary: `s${i}` })));
    }
    expect((await audit.latest(3)).map((e) => e.summary)).toEqual(['s11', 's10', 's9']);
    expect((await audit.latest(10, { appId: 'appX' })).map((e) => e.summary)).toEqual(['s9', 's6', 's3', 's0']);
    expect((await audit.latest(2, { appId: 'appX' })).map((e) => e.summary)).toEqual(['s9', 's6']);
    expect((await audit.latest(10, { appId: 'appX', requestId: 'r0' })).map((e) => e.summary)).toEqual(['s6', 's0']);
    expect(await audit.latest(5, { appId: 'nope' })).toEqual([]);
    expect(await audit.latest(0)).toEqual([]);
  });

  it('since() returns entries at or after a time, oldest first, up to a limit', async () => {
    const { audit, clock } = setup();
    for (let i = 0; i < 6; i++) {
      clock.now = T0 + i * 3_600_000;
      await audit.append(entry({ summary: `h${i}` }));
    }
    const cut = T0 + 3 * 3_600_000;
    expect((await audit.since(cut)).map((e) => e.summary)).toEqual(['h3', 'h4', 'h5']);
    expect((await audit.since(cut - 1)).map((e) => e.summary)).toEqual(['h3', 'h4', 'h5']);
    expect((await audit.since(T0, 2)).map((e) => e.summary)).toEqual(['h0', 'h1']);
    expect(await audit.since(T0 + 10 * 3_600_000)).toEqual([]);
  });
});

describe('audit:verify script', () => {
  it('prints OK with the count and head, or where the chain breaks', async () => {
    const { audit, keys, prefix } = setup();
    const made: AuditEntry[] = [];
    for (let i = 0; i < 3; i++) made.push(await audit.append(entry({ summary: `v${i}` })));
    const lines: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(`ERR ${l}`) };
    const env = { REDIS_URL, REDIS_PREFIX: prefix };

    const code = await verifyMain(env, io);
    expect(lines).toEqual([`audit log OK: 3 entries, head ${made[2]!.hash.slice(0, 12)} (prefix ${prefix}, redis)`]);
    expect(code).toBe(0);

    lines.length = 0;
    await redis.xdel(keys.k('audit'), made[1]!.id);
    expect(await verifyMain(env, io)).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`BROKEN at entry ${made[2]!.id}`);

    lines.length = 0;
    expect(await verifyMain({ REDIS_URL: 'http://nope', REDIS_PREFIX: prefix }, io)).toBe(2);
    expect(lines[0]).toMatch(/^ERR [^]*REDIS_URL/);
  });
});

describe('GET /audit', () => {
  const TOKEN = 'audit-token-for-tests-0123456789';
  let server: http.Server;
  let base: string;
  let current: AuditLog;
  const logLines: string[] = [];

  beforeAll(async () => {
    const { log } = createLogger({ level: 'info', secrets: [TOKEN] }, { write: (l: string) => logLines.push(l) });
    // The route under test is rebuilt per test via `current`; the server delegates to it.
    server = http.createServer((req, res) => createAuditRoute({ audit: current, token: TOKEN, log }).handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const get = (path: string, token: string | null = TOKEN) =>
    fetch(`${base}${path}`, { headers: token === null ? {} : { Authorization: `Bearer ${token}` } });

  async function seeded() {
    const ctx = setup();
    current = ctx.audit;
    const made: AuditEntry[] = [];
    for (let i = 0; i < 4; i++) {
      ctx.clock.now = T0 + i * 60_000;
      made.push(await ctx.audit.append(entry({ appId: i % 2 ? 'appB' : 'appA', summary: `event ${i}` })));
    }
    return made;
  }

  it('answers 401 with a Bearer challenge and no detail without the right token', async () => {
    await seeded();
    for (const token of [null, 'wrong', TOKEN.replace(/.$/, 'X'), `${TOKEN}x`]) {
      const res = await get('/audit', token);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(await res.text()).toBe('unauthorized\n');
    }
    const basic = await fetch(`${base}/audit`, { headers: { Authorization: `Basic ${TOKEN}` } });
    expect(basic.status).toBe(401);
    expect(logLines.join('')).not.toContain(TOKEN);
  });

  it('streams JSON lines oldest first, filtered by app, since and limit', async () => {
    const made = await seeded();
    const res = await get('/audit');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const body = await res.text();
    expect(body.endsWith('\n')).toBe(true);
    const lines = body.trimEnd().split('\n').map((l) => JSON.parse(l) as AuditEntry);
    expect(lines).toEqual(made);

    const filtered = await (await get(`/audit?format=jsonl&app=appB&since=${new Date(T0 + 90_000).toISOString()}`)).text();
    expect(filtered.trimEnd().split('\n').map((l) => (JSON.parse(l) as AuditEntry).summary)).toEqual(['event 3']);
    const limited = await (await get(`/audit?since=${T0 + 60_000}&limit=2`)).text();
    expect(limited.trimEnd().split('\n').map((l) => (JSON.parse(l) as AuditEntry).summary)).toEqual(['event 1', 'event 2']);
    expect(await (await get('/audit?app=nobody')).text()).toBe('');
  });

  it('exports CSV with RFC 4180 quoting and formula injection neutralised', async () => {
    const { audit, clock } = setup();
    current = audit;
    clock.now = T0;
    const e = await audit.append(
      entry({ actor: '@evil', summary: '=HYPERLINK("http://x","click"), then\nmore', details: { note: '-1+1' } }),
    );
    const res = await get('/audit?format=csv');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const body = await res.text();
    const [header, ...rest] = body.split('\r\n');
    expect(header).toBe('id,at,type,actor,app_id,account,request_id,summary,details,prev,hash,chain,key_id');
    expect(rest.join('\r\n')).toBe(
      `${e.id},2024-05-01T09:00:00.000Z,request.opened,'@evil,appA,default,r1,` +
        `"'=HYPERLINK(""http://x"",""click""), then\nmore","{""note"":""-1+1""}",${GENESIS_HASH},${e.hash},sha256,\r\n`,
    );
  });

  it.each([
    ['limit=0', /limit/],
    ['limit=100001', /limit/],
    ['limit=ten', /limit/],
    ['limit=5&limit=6', /more than once/],
    ['since=yesterday', /since/],
    ['format=xml', /format/],
    ['app=a%20b', /app/],
    ['user=U1', /unknown query parameter/],
  ])('answers 400 with a one-line reason for %s', async (query, reason) => {
    await seeded();
    const res = await get(`/audit?${query}`);
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text).toMatch(reason);
    expect(text.trimEnd().split('\n')).toHaveLength(1);
  });

  it('answers 500 with a generic line and logs the cause when Redis fails', async () => {
    const { keys } = setup();
    const dead = connect();
    await dead.quit();
    current = createAuditLog({ redis: dead, keys, clock: () => T0 });
    logLines.length = 0;
    const res = await get('/audit');
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('internal error\n');
    expect(logLines.some((l) => l.includes('audit export failed') && l.includes('Connection is closed'))).toBe(true);
  });

  it('stops reading the log when the client disconnects mid-stream', async () => {
    let produced = 0;
    let released = false;
    const endless: AuditLog = {
      ...setup().audit,
      iterate: () =>
        (async function* () {
          try {
            for (;;) {
              produced += 1;
              yield { ...entry({ summary: 'x'.repeat(500) }), id: `${produced}-0`, at: produced, prev: GENESIS_HASH, hash: GENESIS_HASH };
              // Let the event loop see the socket close, as a real Redis round trip would.
              if (produced % 500 === 0) await new Promise((r) => setImmediate(r));
            }
          } finally {
            released = true;
          }
        })(),
    };
    current = endless;
    logLines.length = 0;
    const finished = new Promise<string>((resolve) => {
      const timer = setInterval(() => {
        const line = logLines.find((l) => l.includes('audit export finished'));
        if (line) {
          clearInterval(timer);
          resolve(line);
        }
      }, 10);
    });
    await new Promise<void>((resolve, reject) => {
      const req = http.get(`${base}/audit`, { headers: { Authorization: `Bearer ${TOKEN}` } }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    });
    const line = await finished;
    expect(line).toContain('client disconnected');
    expect(released).toBe(true);
    expect(produced).toBeLessThan(100_000);
  });
});
