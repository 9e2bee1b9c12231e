import { createHash } from 'node:crypto';
import http from 'node:http';
import type { Redis } from 'ioredis';
import { main as verifyMain } from '../../scripts/audit-verify';
import { createAuditRoute } from '../../src/capabilities/audit/route';
import { createLogger } from '../../src/log';
import { createAuditLog, type AuditLog } from '../../src/capabilities/audit/stores/audit';
import { AuditError, auditKeyId, canonicalJson, entryHash, GENESIS_HASH, type AuditEntry, type AuditInput } from '../../src/capabilities/audit/chain';
import { createKeys, type Keys } from '../../src/platform/redis/keys';
import { TEST_SECRETS } from '../helpers/env';
import { dropPrefix, openRedis, REDIS_URL, uniquePrefix } from '../helpers/redis';
import { closeServer, listenLocal } from '../helpers/net';

const FILE_PREFIX = uniquePrefix('audit');
const T0 = Date.UTC(2024, 4, 1, 9, 0, 0);

const connections: Redis[] = [];
function connect(): Redis {
  const redis = openRedis({ enableAutoPipelining: true, maxRetriesPerRequest: 2 });
  connections.push(redis);
  return redis;
}

let redis: Redis;
let n = 0;

beforeAll(() => {
  redis = connect();
});

afterAll(async () => {
  await dropPrefix(FILE_PREFIX, { family: true });
  await Promise.all(connections.filter((c) => c.status !== 'end').map((c) => c.quit()));
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
    base = await listenLocal(server);
  });

  afterAll(async () => {
    await closeServer(server);
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

const KEY = TEST_SECRETS.auditKey;

async function readAll(audit: AuditLog): Promise<AuditEntry[]> {
  const all: AuditEntry[] = [];
  for await (const e of audit.iterate()) all.push(e);
  return all;
}

/** An entry as stream fields, in the order the log writes them. */
function fieldsOf(e: Omit<AuditEntry, 'id'>): string[] {
  const fields = ['type', e.type, 'at', String(e.at)];
  for (const f of ['actor', 'appId', 'account', 'requestId'] as const) if (e[f] !== undefined) fields.push(f, e[f]);
  fields.push('summary', e.summary);
  if (e.details !== undefined) fields.push('details', JSON.stringify(e.details));
  if (e.chain !== undefined) fields.push('chain', e.chain);
  if (e.keyId !== undefined) fields.push('keyId', e.keyId);
  fields.push('prev', e.prev, 'hash', e.hash);
  return fields;
}

/** SHA-256 over the text `entryHash` hashes, whatever the entry's chain label says. */
function plainHash(e: Omit<AuditEntry, 'id' | 'hash'>): string {
  const { prev, type, at, summary, actor, appId, account, requestId, details, chain, keyId } = e;
  const body = { type, at, prev, summary, actor, appId, account, requestId, details, chain, keyId };
  return createHash('sha256').update(`${prev}\n${canonicalJson(body)}`).digest('hex');
}

/**
 * What an attacker with Redis write access but without AUDIT_KEY can do: replace the log with
 * `entries`, keeping those before `from` as they are and re-chaining the rest consistently with
 * plain SHA-256 (labelled by `relabel`), then fix the head and the counter to match. Without a
 * key this is the rewrite a hash chain cannot show. Returns the forged head.
 */
async function forgeChain(
  keys: Keys,
  entries: AuditEntry[],
  from: number,
  relabel: (e: AuditEntry) => AuditEntry['chain'] = (e) => e.chain,
): Promise<string> {
  const tmp = keys.k('audit', 'forged');
  let prev = GENESIS_HASH;
  for (const [i, e] of entries.entries()) {
    if (i < from) {
      await redis.xadd(tmp, e.id, ...fieldsOf(e));
      prev = e.hash;
      continue;
    }
    const chain = relabel(e);
    const { id: _id, hash: _hash, keyId, ...rest } = e;
    const forged = { ...rest, chain, prev, ...(chain === 'hmac-sha256' && keyId !== undefined ? { keyId } : {}) };
    // SHA-256 over exactly the text an HMAC would cover: the best anyone without the key can do.
    const hash = plainHash(forged);
    await redis.xadd(tmp, e.id, ...fieldsOf({ ...forged, hash }));
    prev = hash;
  }
  await redis.rename(tmp, keys.k('audit'));
  await redis.set(keys.k('audit', 'head'), prev);
  await redis.set(keys.k('audit', 'count'), String(entries.length));
  return prev;
}

const run = async (env: Record<string, string | undefined>, argv: string[] = []) => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await verifyMain(env, { out: (l) => out.push(l), err: (l) => err.push(l) }, argv);
  return { code, out: out.join('\n'), err: err.join('\n') };
};

describe('audit log keyed with AUDIT_KEY', () => {
  async function keyedLog(n = 4) {
    const ctx = setup();
    const keyed = createAuditLog({ redis, keys: ctx.keys, clock: () => ctx.clock.now, key: KEY });
    for (let i = 0; i < n; i++) {
      ctx.clock.now = T0 + i * 1_000;
      await keyed.append(entry({ summary: `step ${i}` }));
    }
    return { ...ctx, keyed, original: await readAll(keyed) };
  }

  it('chains with HMAC-SHA256 from a switch entry on, and verifies only with that key', async () => {
    const { audit, keys, keyed, original } = await keyedLog(2);
    expect(original.map((e) => e.type)).toEqual(['config', 'request.opened', 'request.opened']);
    expect(original[0]!.summary).toContain(`key id ${auditKeyId(KEY)}`);
    for (const e of original) {
      expect(e).toMatchObject({ chain: 'hmac-sha256', keyId: auditKeyId(KEY) });
      const { id: _id, hash, ...rest } = e;
      expect(entryHash(rest, KEY)).toBe(hash);
      expect(entryHash(rest, 'another-key-that-is-32-characters-long')).not.toBe(hash);
      expect(entryHash({ ...rest, chain: 'sha256' })).not.toBe(hash);
    }
    // The key id names the key without revealing it; the key is stored nowhere in Redis.
    expect(auditKeyId(KEY)).toMatch(/^[0-9a-f]{16}$/);
    const stored = JSON.stringify(await redis.xrange(keys.k('audit'), '-', '+')) + (await redis.get(keys.k('audit', 'keyid')));
    expect(stored).not.toContain(KEY);

    expect(await keyed.verify()).toMatchObject({ ok: true, count: 3, notes: [expect.stringContaining(`HMAC-SHA256 (key id ${auditKeyId(KEY)})`)] });
    expect(await audit.verify()).toMatchObject({ ok: false, unverifiable: true, firstBadId: original[0]!.id, reason: expect.stringContaining('set AUDIT_KEY') });
    const wrong = createAuditLog({ redis, keys, clock: () => T0, key: 'x'.repeat(32) });
    expect(await wrong.verify()).toMatchObject({ ok: false, unverifiable: true, reason: expect.stringContaining('wrong key') });
  });

  it('refuses a key shorter than 32 characters', () => {
    const { keys } = setup();
    expect(() => createAuditLog({ redis, keys, clock: () => T0, key: 'k'.repeat(31) })).toThrow(/at least 32/);
  });

  it('shows an edit whose chain was recomputed without the key', async () => {
    const { keys, keyed, original } = await keyedLog();
    const target = original[2]!;
    const edited = original.map((e) => (e.id === target.id ? { ...e, actor: 'U0MALLORY' } : e));
    await forgeChain(keys, edited, 2);
    // Without a key the same forgery verifies (see the unkeyed case below); with one it does not.
    expect(await keyed.verify()).toMatchObject({ ok: false, count: 2, firstBadId: target.id, reason: expect.stringContaining('HMAC') });
  });

  it('shows keyed entries rewritten as plain SHA-256 ones', async () => {
    const { keys, keyed, original } = await keyedLog();
    const target = original[2]!;
    await forgeChain(keys, original.map((e) => (e.id === target.id ? { ...e, summary: 'nothing happened' } : e)), 2, () => 'sha256');
    expect(await keyed.verify()).toMatchObject({ ok: false, firstBadId: target.id, reason: expect.stringContaining('unkeyed entry after the chain was keyed') });
  });

  it('shows a log rewritten entirely without the key: by the key witness, then by the digest head', async () => {
    const { keys, keyed, original } = await keyedLog();
    const real = (await keyed.head())!;
    // Drop the switch entry and relabel everything as an unkeyed chain from the genesis hash.
    await forgeChain(keys, original.slice(1).map((e) => ({ ...e, keyId: undefined })), 0, () => 'sha256');
    await redis.set(keys.k('audit', 'count'), String(original.length - 1));
    expect(await keyed.verify()).toMatchObject({ ok: false, reason: expect.stringContaining('no entry is keyed') });

    // With the key witness deleted too, Redis alone holds a consistent unkeyed log...
    await redis.del(keys.k('audit', 'keyid'));
    expect(await keyed.verify()).toMatchObject({ ok: true });
    // ...and only the head the digest posted to Slack shows the rewrite.
    expect(await keyed.verify({ head: real.hash.slice(0, 12), count: real.count })).toMatchObject({
      ok: false, reason: expect.stringContaining('the copy you gave says'),
    });
  });

  it('keeps unkeyed and pre-existing entries verifiable, records the switch, and refuses to go back', async () => {
    const { keys, audit, clock } = setup();
    // Two entries as the code before `chain` and the counter wrote them: no chain field, no
    // counter, no install marker.
    let prev = GENESIS_HASH;
    for (let i = 0; i < 2; i++) {
      const unsigned = { ...entry({ summary: `legacy ${i}` }), at: T0 + i, prev };
      const hash = entryHash(unsigned);
      await redis.xadd(keys.k('audit'), `${T0 + i}-0`, ...fieldsOf({ ...unsigned, hash }));
      prev = hash;
    }
    await redis.set(keys.k('audit', 'head'), prev);
    expect(await audit.verify()).toMatchObject({ ok: true, count: 2, notes: [expect.stringContaining('no entry counter yet')] });

    clock.now = T0 + 10;
    await audit.append(entry({ summary: 'unkeyed, recorded as sha256' }));
    const keyed = createAuditLog({ redis, keys, clock: () => clock.now, key: KEY });
    clock.now = T0 + 20;
    await keyed.append(entry({ summary: 'the first keyed one' }));

    const all = await readAll(keyed);
    expect(all.map((e) => [e.chain, e.type])).toEqual([
      [undefined, 'request.opened'],
      [undefined, 'request.opened'],
      ['sha256', 'request.opened'],
      ['hmac-sha256', 'config'],
      ['hmac-sha256', 'request.opened'],
    ]);
    expect(all[3]!.prev).toBe(all[2]!.hash);
    expect(all[3]!.details).toEqual({ chain: 'hmac-sha256', keyId: auditKeyId(KEY) });
    expect(await redis.get(keys.k('audit', 'count'))).toBe('5');
    expect(await keyed.verify()).toMatchObject({
      ok: true, count: 5, notes: [expect.stringContaining(`from entry ${all[3]!.id}; the 3 entries before it are plain SHA-256`)],
    });

    // Once keyed, the chain stays keyed: no unkeyed append, no append under another key.
    await expect(audit.append(entry())).rejects.toMatchObject({ code: 'audit_key_required', message: expect.stringContaining('set AUDIT_KEY') });
    const other = createAuditLog({ redis, keys, clock: () => clock.now, key: 'y'.repeat(40) });
    await expect(other.append(entry())).rejects.toMatchObject({ code: 'audit_key_required', message: expect.stringContaining('another AUDIT_KEY') });
    expect(await redis.xlen(keys.k('audit'))).toBe(5);
  });

  it('writes one switch entry when two processes switch at once', async () => {
    const { keys, audit } = setup();
    await audit.append(entry({ summary: 'before' }));
    const logs = [connect(), connect()].map((conn) => createAuditLog({ redis: conn, keys, clock: () => T0, key: KEY }));
    await Promise.all(Array.from({ length: 10 }, (_, i) => logs[i % 2]!.append(entry({ summary: `keyed ${i}` }))));
    const all = await readAll(audit);
    expect(all.filter((e) => e.type === 'config')).toHaveLength(1);
    expect(all).toHaveLength(12);
    expect(await logs[0]!.verify()).toMatchObject({ ok: true, count: 12 });
  });
});

describe('audit log witnesses outside the stream', () => {
  async function threeEntries() {
    const ctx = setup();
    await ctx.audit.markInstalled();
    for (let i = 0; i < 3; i++) await ctx.audit.append(entry({ summary: `w${i}` }));
    return ctx;
  }

  it('a deleted stream is found by the head, the counter and the install marker', async () => {
    const { audit, keys } = await threeEntries();
    await redis.del(keys.k('audit'));
    const verdict = await audit.verify();
    expect(verdict).toMatchObject({ ok: false, count: 0 });
    expect(verdict.reason).toMatch(/^the audit log is empty, but the head key names entry hash [0-9a-f]{12}; the counter says 3 entries were appended; the install marker says entries were appended since 2024-05-01T09:00:00.000Z: the stream was deleted$/);
    // Nor does the app start a fresh chain over the deleted one.
    await expect(createAuditLog({ redis: connect(), keys, clock: () => T0 }).append(entry())).rejects.toMatchObject({ code: 'audit_head_missing' });
  });

  it('a deleted stream and head are found by the counter and the install marker', async () => {
    const { audit, keys } = await threeEntries();
    await redis.del(keys.k('audit'), keys.k('audit', 'head'));
    expect(await audit.verify()).toMatchObject({ ok: false, reason: expect.stringMatching(/empty, but the counter says 3 entries were appended; the install marker says/) });
    await expect(createAuditLog({ redis: connect(), keys, clock: () => T0 }).append(entry())).rejects.toMatchObject({ code: 'audit_head_missing' });
  });

  it('a deleted stream, head and counter are found by the install marker', async () => {
    const { audit, keys } = await threeEntries();
    await redis.del(keys.k('audit'), keys.k('audit', 'head'), keys.k('audit', 'count'));
    expect(await audit.verify()).toMatchObject({ ok: false, reason: expect.stringMatching(/^the audit log is empty, but the install marker says entries were appended since/) });
    await expect(createAuditLog({ redis: connect(), keys, clock: () => T0 }).append(entry())).rejects.toMatchObject({ code: 'audit_head_missing' });
  });

  it('an entry removed and the chain re-linked consistently is found by the counter', async () => {
    const { audit, keys } = await threeEntries();
    const all = await readAll(audit);
    await forgeChain(keys, [all[0]!, all[2]!], 1);
    await redis.set(keys.k('audit', 'count'), '3');
    expect(await audit.verify()).toMatchObject({ ok: false, count: 2, reason: expect.stringContaining('the counter says 3 entries were appended, but the chain holds 2') });
  });

  it('with every audit key and the marker deleted, says it cannot verify rather than OK', async () => {
    const { audit, keys } = await threeEntries();
    await redis.del(keys.k('audit'), keys.k('audit', 'head'), keys.k('audit', 'count'), keys.k('install'));
    expect(await audit.verify({ count: 3 })).toMatchObject({ ok: false, unverifiable: true, reason: expect.stringContaining('no zoomjwt install') });
  });
});

describe('audit:verify against the head the digest printed', () => {
  async function fiveEntries() {
    const ctx = setup();
    for (let i = 0; i < 5; i++) {
      ctx.clock.now = T0 + i * 1_000;
      await ctx.audit.append(entry({ summary: `d${i}` }));
    }
    const posted = (await ctx.audit.head())!;
    return { ...ctx, posted, env: { REDIS_URL, REDIS_PREFIX: ctx.prefix }, args: ['--head', posted.hash.slice(0, 12), '--count', String(posted.count)] };
  }

  it('passes while the chain still reaches that head, also after later entries', async () => {
    const { audit, posted, env, args } = await fiveEntries();
    expect(posted.count).toBe(5);
    expect(await run(env, args)).toMatchObject({ code: 0, out: expect.stringContaining(`reaches head ${posted.hash.slice(0, 12)} at entry 5`) });
    await audit.append(entry({ summary: 'later' }));
    expect(await run(env, args)).toMatchObject({ code: 0, out: expect.stringMatching(/^audit log OK: 6 entries/) });
    expect(await run(env, [`--head=${posted.hash.slice(0, 12).toUpperCase()}`])).toMatchObject({ code: 0 });
    expect(await run(env, ['--count', '5'])).toMatchObject({ code: 0 });
  });

  it('fails on a truncation that Redis alone cannot show', async () => {
    const { audit, keys, env, args } = await fiveEntries();
    const all = await readAll(audit);
    // Cut the last two entries and fix the head and the counter: the chain itself is intact.
    await forgeChain(keys, all.slice(0, 3), 3);
    expect(await run(env)).toMatchObject({ code: 0 });
    const cut = await run(env, args);
    expect(cut.code).toBe(1);
    expect(cut.out).toContain('the log holds 3 entries, but the copy you gave says it held 5');
    expect(await run(env, ['--count', '5'])).toMatchObject({ code: 1 });
  });

  it('fails on a consistent rewrite that Redis alone cannot show', async () => {
    const { audit, keys, env, args, posted } = await fiveEntries();
    const all = await readAll(audit);
    await forgeChain(keys, all.map((e, i) => (i === 1 ? { ...e, summary: 'nothing happened' } : e)), 1);
    expect(await run(env)).toMatchObject({ code: 0 });
    const rewritten = await run(env, args);
    expect(rewritten.code).toBe(1);
    expect(rewritten.out).toMatch(new RegExp(`BROKEN at entry ${all[4]!.id}: entry 5 has hash [0-9a-f]{12}, but the copy you gave says ${posted.hash.slice(0, 12)}`));
    expect(await run(env, ['--head', posted.hash.slice(0, 12)])).toMatchObject({ code: 1, out: expect.stringContaining('no entry has a hash starting with') });
  });

  it.each([
    [['--head'], /--head needs a value/],
    [['--head', 'xyz'], /8 to 64 hex digits/],
    [['--head', 'abc1234'], /8 to 64 hex digits/],
    [['--count', '0'], /at least 1/],
    [['--count', 'many'], /whole number/],
    [['--count', '1', '--count', '2'], /more than once/],
    [['--verbose'], /unknown argument/],
  ])('answers %j with usage and exit code 2', async (argv, message) => {
    const { env } = await fiveEntries();
    const result = await run(env, argv);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(message);
    expect(result.err).toContain('usage: npm run audit:verify');
    expect(result.out).toBe('');
  });

  it('exits 2, not "OK: 0 entries", for a prefix that holds no install', async () => {
    const result = await run({ REDIS_URL, REDIS_PREFIX: `${FILE_PREFIX}-nothing-here` });
    expect(result).toMatchObject({ code: 2, out: '' });
    expect(result.err).toContain('NOT VERIFIED: no zoomjwt install under this prefix');
    expect(result.err).toContain('check REDIS_PREFIX');
  });

  it('exits 1 for a deleted stream, and 2 for keyed entries without the key or a bad AUDIT_KEY', async () => {
    const { keys, env } = await fiveEntries();
    const keyed = createAuditLog({ redis, keys, clock: () => T0 + 10_000, key: KEY });
    await keyed.append(entry({ summary: 'keyed' }));
    expect(await run({ ...env, AUDIT_KEY: KEY })).toMatchObject({ code: 0, out: expect.stringContaining('note: chained with HMAC-SHA256') });
    expect(await run(env)).toMatchObject({ code: 2, err: expect.stringContaining('set AUDIT_KEY to verify them') });
    const short = await run({ ...env, AUDIT_KEY: 'too-short-a-key' });
    expect(short).toMatchObject({ code: 2, err: expect.stringContaining('AUDIT_KEY: at least 32 characters') });
    expect(short.err).not.toContain('too-short-a-key');
    await redis.del(keys.k('audit'));
    expect(await run({ ...env, AUDIT_KEY: KEY })).toMatchObject({ code: 1, out: expect.stringContaining('the stream was deleted') });
  });
});
