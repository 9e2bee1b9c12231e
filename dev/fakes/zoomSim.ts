/**
 * A fake Zoom on loopback: the Server-to-Server OAuth token endpoint and the Marketplace
 * endpoints zoomjwt uses, answering in Zoom's shapes (SPEC §3, reference zoom-api.md §1–§3).
 * Shared by integration tests, benchmarks and the sandbox mode.
 *
 * Faithful where the bot's correctness depends on it: tokens are tied to an account and expire
 * (3600 s on the fake's clock); API calls need a valid bearer of the account owning the app
 * (else 401 code 124); `duration` filters by the fake's clock; page sizes are validated;
 * `next_page_token`s are opaque and expire after 15 minutes; unknown apps are 404 code 1401.
 * Failures are scripted: `failNext` (any status, headers, raw or JSON body), `hangNext`
 * (never answers), `holdDeleteResponses` (removes, then answers late or never), `revokeTokens`,
 * `setDeleteMode`, `setDeleteNotFound`; `internalErrorTryAgain` and `missingScope` build the 400s
 * Zoom answers for its own errors (code 1505) and for a missing scope (code 4711).
 *
 * Call logs are stored column-wise in typed arrays with interned strings, so a million entries
 * cost tens of megabytes and paging is a binary search, not a scan from the top.
 *
 * By default call logs are served newest first. `setLogShape` makes an app's listing take any
 * other shape Zoom's schema allows (nothing there promises an order or any field): oldest first,
 * shuffled, pages in shuffled order, empty pages that still carry a token, undecodable entries,
 * times in seconds, entries dated after the fake's clock; `addLogs` takes entries without a trace
 * id (or other optional fields), and an app can answer Get app without `app_id`. Such listings
 * are snapshots taken at the first page (the token carries the position in it).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ZoomCallLog } from '../../src/platform/zoom/types';
import type { Clock } from '../../src/kernel/clock';

export interface FakeZoomAccount {
  accountId: string;
  clientId: string;
  clientSecret: string;
  /** Granted scopes; default: the four the bot needs. */
  scopes?: string[];
  /**
   * The usage fields of List apps (changelog 2026-11-09): `on` computes them from the app's logs
   * (`enable_metrics: true`), `off` answers `enable_metrics: false` without them, `absent` (the
   * default) answers as an API older than the fields.
   */
  metrics?: MetricsMode;
}

export type MetricsMode = 'on' | 'off' | 'absent';

export interface FakeZoomApp {
  app_id: string;
  app_name: string;
  app_type?: string;
  app_status?: string;
  app_developer_type?: string;
  app_description?: string;
  /** Get app answers without `app_id` (optional in Zoom's schema, seen missing live). */
  getWithoutAppId?: boolean;
  /**
   * Raw usage fields listed instead of the computed ones (account metrics `on` only): a lagging
   * or lying `last_used`, `active_users`, `works_with`… `null` leaves a field out.
   */
  metrics?: Record<string, unknown>;
}

/** How an app's call-log listing is shaped (default: newest first, every field present). */
export interface LogShape {
  order?: 'newest' | 'oldest' | 'shuffled' | 'pages-shuffled';
  /** Every `emptyEvery`-th page answered (1-based) has no entries, with a token to the same place. */
  emptyEvery?: number;
  /** Undecodable entries (a time that is not a number) added to every page. */
  unreadablePerPage?: number;
  /** `time` in epoch seconds (a number) instead of a string of milliseconds. */
  timeInSeconds?: boolean;
  /** Entries dated after the fake's clock are listed too (by default they have not happened yet). */
  listFuture?: boolean;
  /** Seed of the shuffles. Default 1. */
  seed?: number;
}

/** A call-log entry to add: every field but `time` may be absent, as in Zoom's schema. */
export type FakeLogEntry = Omit<ZoomCallLog, 'http_status'> & { http_status?: number };

/** A scripted answer. `body`: an object is sent as JSON, a string is sent as is (malformed JSON). */
export interface FakeAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /**
   * Which requests it applies to, tested against `METHOD /path?query` (API paths without `/v2`;
   * the token endpoint is `POST /oauth/token`). Default: any API request, never the token endpoint.
   */
  path?: RegExp;
}

/** DELETE answers: 204 (documented), 200 with an empty body (seen live), or 403 (no permission). */
export type DeleteMode = 'no_content' | 'ok_empty' | 'forbidden';

/**
 * DELETE of an app Zoom does not know: 404 code 1401 (as Get answers), or 404 "App not found"
 * without Zoom's code, as the OpenAPI documents it.
 */
export type DeleteNotFoundMode = 'code_1401' | 'no_code';

export interface GenerateLogsOptions {
  count: number;
  /** Oldest and newest entry time (epoch ms); entries are spread evenly between them. */
  fromMs: number;
  toMs: number;
  /** Picked uniformly (or by `weight`). Default: a mix of SCIM, meetings and report calls. */
  endpoints?: Array<{ method: string; url: string; weight?: number }>;
  /** HTTP status → weight. Default: all 200. */
  statusMix?: Record<number, number>;
  /** PRNG seed, for reproducible mixes. Default 1. */
  seed?: number;
}

export interface FakeZoom {
  /** `http://127.0.0.1:PORT/v2` — an account's apiUrl. */
  readonly apiUrl: string;
  /** `http://127.0.0.1:PORT/oauth/token` — ZOOM_OAUTH_URL. */
  readonly oauthUrl: string;
  addAccount(account: FakeZoomAccount): void;
  setScopes(accountId: string, scopes: string[]): void;
  addApp(accountId: string, app: FakeZoomApp): void;
  /** Switches the account's List apps usage fields (see FakeZoomAccount.metrics). */
  setMetrics(accountId: string, mode: MetricsMode): void;
  /** Replaces the app's raw usage overrides (see FakeZoomApp.metrics); `{}` lists the computed ones. */
  setAppMetrics(appId: string, overrides: Record<string, unknown>): void;
  /** Removes the app as if deleted in the Marketplace; its logs stay (and stop being served). */
  removeApp(appId: string): void;
  hasApp(appId: string): boolean;
  /** Adds entries (any order); served newest first unless `setLogShape` says otherwise. */
  addLogs(appId: string, entries: FakeLogEntry[]): void;
  /** Shapes the app's call-log listing from the next first page on (see LogShape). */
  setLogShape(appId: string, shape: LogShape): void;
  /** Adds `count` synthetic entries without building objects; returns the app's new total. */
  generateLogs(appId: string, options: GenerateLogsOptions): number;
  logCount(appId: string): number;
  /** The next `n` matching requests get this answer instead of the real one. */
  failNext(n: number, answer: FakeAnswer): void;
  /** The next `n` matching requests are never answered (the connection stays open until close). */
  hangNext(n: number, path?: RegExp): void;
  /** Every token issued so far starts answering 401 code 124. */
  revokeTokens(): void;
  setDeleteMode(mode: DeleteMode): void;
  setDeleteNotFound(mode: DeleteNotFoundMode): void;
  /** Delays every token answer (real ms): makes concurrent fetches overlap in tests. */
  setTokenDelay(ms: number): void;
  /** Access tokens issued so far (to prove they never leak into messages). */
  issuedTokens(): string[];
  /** Token requests received (any outcome). */
  readonly tokenRequests: number;
  /** API requests received, as `METHOD /path?query` (path without `/v2`), in order. */
  readonly requests: string[];
  /** App ids DELETE was called for, in order (any outcome). */
  readonly deleted: string[];
  /** App ids a DELETE actually removed (answered 2xx), in order: the effective removals. */
  readonly removals: string[];
  /**
   * The next `n` DELETEs that remove an app do remove it, then answer after `ms` (never, when
   * omitted; the connection stays open until close): the caller may die before it learns.
   */
  holdDeleteResponses(n: number, ms?: number): void;
  resetCounters(): void;
  close(): Promise<void>;
}

export const ALL_SCOPES = [
  'marketplace:read:list_apps:admin',
  'marketplace:read:app:admin',
  'marketplace:read:list_api_logs:admin',
  'marketplace:write:app:admin',
];

/** Zoom's per-second 429 (reference §3). */
export function qpsLimited(path?: RegExp): FakeAnswer {
  return {
    status: 429,
    headers: { 'X-RateLimit-Category': 'Medium', 'X-RateLimit-Type': 'QPS' },
    body: { code: 429, message: 'You have reached the maximum per-second rate limit for this API. Try again later.' },
    ...(path ? { path } : {}),
  };
}

/** List apps' "Internal server error, please try again": HTTP 400, code 1505 (reference, 2026-12). */
export function internalErrorTryAgain(path?: RegExp): FakeAnswer {
  return { status: 400, body: { code: 1505, message: 'Internal server error, please try again.' }, ...(path ? { path } : {}) };
}

/** A missing scope as Zoom sends it on Marketplace endpoints: HTTP 400, code 4711. */
export function missingScope(scopes: string[], path?: RegExp): FakeAnswer {
  return { status: 400, body: { code: 4711, message: `Invalid access token, does not contain scopes: [${scopes.join(', ')}].` }, ...(path ? { path } : {}) };
}

/** Zoom's daily-limit 429, `Retry-After` an ISO timestamp (reference §3). */
export function dailyLimited(retryAfter: string, path?: RegExp): FakeAnswer {
  return {
    status: 429,
    headers: {
      'X-RateLimit-Category': 'Medium',
      'X-RateLimit-Type': 'Daily-limit',
      'X-RateLimit-Limit': '2000',
      'X-RateLimit-Remaining': '0',
      'Retry-After': retryAfter,
    },
    body: {
      code: 429,
      message: 'You have reached the maximum daily rate limit for this API. Refer to the response header for details on when you can make another request.',
    },
    ...(path ? { path } : {}),
  };
}

const DAY_MS = 86_400_000;
const TOKEN_LIFETIME_S = 3600;
const PAGE_TOKEN_TTL_MS = 15 * 60_000;
const TOKEN_PATH = '/oauth/token';
const API_PREFIX = '/v2';

const DEFAULT_ENDPOINTS: Array<{ method: string; url: string; weight?: number }> = [
  { method: 'GET', url: 'https://api.zoom.us/v2/scim2/Users?filter=userName%20eq%20%22ann%40example.com%22' },
  { method: 'PATCH', url: 'https://api.zoom.us/v2/scim2/Users/KdYKjnimT4KPd8FFgQt9FQ' },
  { method: 'POST', url: 'https://api.zoom.us/v2/users/ann@example.com/meetings' },
  { method: 'GET', url: 'https://api.zoom.us/v2/meetings/85746065432' },
  { method: 'GET', url: 'https://api.zoom.us/v2/report/daily' },
];

/** String → small integer, so columns hold numbers instead of strings. */
class Interner {
  private readonly ids = new Map<string, number>();
  readonly values: string[] = [];
  id(value: string): number {
    let id = this.ids.get(value);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(value);
      this.ids.set(value, id);
    }
    return id;
  }
}

interface LogFilter {
  method?: string;
  statusCode?: number;
  query?: string;
}

/** Position in the newest-first order: strictly after (time, row). */
interface LogCursor {
  time: number;
  row: number;
}

/** One app's call logs in columns. Order: time descending, then row descending. */
class LogStore {
  size = 0;
  private time = new Float64Array(0);
  private status = new Uint16Array(0);
  private method = new Uint8Array(0);
  private url = new Uint32Array(0);
  private readonly traces = new Map<number, string>();
  /** Rows added without a trace id / method / url / status: served without the field. */
  private readonly missing = new Map<number, { trace?: true; method?: true; url?: true; status?: true }>();
  /** True while rows were appended in non-decreasing time: then row order reversed is the order. */
  private ascending = true;
  private order: Uint32Array | null = null;

  constructor(
    private readonly appId: string,
    private readonly methods: Interner,
    private readonly urls: Interner,
  ) {}

  private reserve(extra: number): void {
    const need = this.size + extra;
    if (need <= this.time.length) return;
    const cap = Math.max(need, this.time.length * 2, 1024);
    const grow = <T extends Float64Array | Uint16Array | Uint8Array | Uint32Array>(old: T, make: (n: number) => T): T => {
      const next = make(cap);
      next.set(old.subarray(0, this.size));
      return next;
    };
    this.time = grow(this.time, (n) => new Float64Array(n));
    this.status = grow(this.status, (n) => new Uint16Array(n));
    this.method = grow(this.method, (n) => new Uint8Array(n));
    this.url = grow(this.url, (n) => new Uint32Array(n));
  }

  private push(time: number, status: number, methodId: number, urlId: number, trace?: string): void {
    const row = this.size;
    if (row > 0 && time < this.time[row - 1]!) this.ascending = false;
    this.time[row] = time;
    this.status[row] = status;
    this.method[row] = methodId;
    this.url[row] = urlId;
    if (trace !== undefined) this.traces.set(row, trace);
    this.size += 1;
    this.order = null;
  }

  private methodId(method: string): number {
    const id = this.methods.id(method.toUpperCase());
    if (id > 255) throw new Error('fake zoom: more than 256 distinct methods');
    return id;
  }

  add(entries: FakeLogEntry[]): void {
    const sorted = [...entries].sort((a, b) => Number(a.time) - Number(b.time));
    this.reserve(sorted.length);
    for (const e of sorted) {
      this.push(Number(e.time), e.http_status ?? 0, this.methodId(e.method ?? ''), this.urls.id(e.url_pattern ?? ''), e.trace_id);
      const gone = {
        ...(e.trace_id === undefined || e.trace_id === '' ? { trace: true as const } : {}),
        ...(e.method === undefined ? { method: true as const } : {}),
        ...(e.url_pattern === undefined ? { url: true as const } : {}),
        ...(e.http_status === undefined ? { status: true as const } : {}),
      };
      if (Object.keys(gone).length) this.missing.set(this.size - 1, gone);
    }
  }

  /**
   * Positions (rows) of a whole listing in the given order: what a shaped listing serves, page by
   * page, from a snapshot taken at its first page.
   */
  snapshot(o: { now: number; durationDays: number; filter: LogFilter; shape: LogShape; pageSize: number }): number[] {
    const oldest = o.now - o.durationDays * DAY_MS;
    const rows: number[] = [];
    for (let i = 0; i < this.size; i += 1) {
      const row = this.rowAt(i);
      const t = this.time[row]!;
      if (t > o.now && !o.shape.listFuture) continue;
      if (t < oldest) break;
      if (this.matches(row, o.filter)) rows.push(row);
    }
    const random = mulberry32(o.shape.seed ?? 1);
    const shuffle = <T>(a: T[]): T[] => {
      for (let i = a.length - 1; i > 0; i -= 1) {
        const j = Math.floor(random() * (i + 1));
        [a[i], a[j]] = [a[j]!, a[i]!];
      }
      return a;
    };
    switch (o.shape.order ?? 'newest') {
      case 'oldest':
        return rows.reverse();
      case 'shuffled':
        return shuffle(rows);
      case 'pages-shuffled': {
        const pages: number[][] = [];
        for (let i = 0; i < rows.length; i += o.pageSize) pages.push(rows.slice(i, i + o.pageSize));
        return shuffle(pages).flat();
      }
      default:
        return rows;
    }
  }

  /** What Zoom's usage fields summarise: calls up to `now` within `days`, failures (4xx/5xx), first and last. */
  usage(now: number, days: number): { total: number; failed: number; first?: number; last?: number } {
    const oldest = now - days * DAY_MS;
    let total = 0;
    let failed = 0;
    let first: number | undefined;
    let last: number | undefined;
    for (let i = 0; i < this.size; i += 1) {
      const row = this.rowAt(i);
      const t = this.time[row]!;
      if (t > now) continue;
      if (t < oldest) break;
      total += 1;
      if (this.status[row]! >= 400) failed += 1;
      last ??= t;
      first = t;
    }
    return { total, failed, ...(first !== undefined ? { first } : {}), ...(last !== undefined ? { last } : {}) };
  }

  entryAt(row: number, shape: LogShape): Record<string, unknown> {
    const e: Record<string, unknown> = { ...this.entry(row) };
    if (shape.timeInSeconds) e.time = Math.floor(this.time[row]! / 1000);
    return e;
  }

  generate(o: GenerateLogsOptions): void {
    const endpoints = (o.endpoints?.length ? o.endpoints : DEFAULT_ENDPOINTS).map((e) => ({
      methodId: this.methodId(e.method),
      urlId: this.urls.id(e.url),
      weight: e.weight ?? 1,
    }));
    const statuses = Object.entries(o.statusMix ?? { 200: 1 }).map(([s, w]) => ({ status: Number(s), weight: w }));
    const pick = weightedPicker(endpoints.map((e) => e.weight));
    const pickStatus = weightedPicker(statuses.map((e) => e.weight));
    const random = mulberry32(o.seed ?? 1);
    this.reserve(o.count);
    const span = Math.max(0, o.toMs - o.fromMs);
    const floor = Math.floor;
    for (let i = 0; i < o.count; i += 1) {
      const time = o.count === 1 ? o.fromMs : o.fromMs + floor((span * i) / (o.count - 1));
      const endpoint = endpoints[pick(random())]!;
      this.push(time, statuses[pickStatus(random())]!.status, endpoint.methodId, endpoint.urlId);
    }
  }

  private rowAt(i: number): number {
    if (this.ascending) return this.size - 1 - i;
    if (!this.order) {
      const order = new Uint32Array(this.size);
      for (let r = 0; r < this.size; r += 1) order[r] = r;
      const t = this.time;
      order.sort((a, b) => t[b]! - t[a]! || b - a);
      this.order = order;
    }
    return this.order[i]!;
  }

  /** First position whose entry is strictly after `bound` in newest-first order. */
  private firstAfter(bound: LogCursor): number {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const row = this.rowAt(mid);
      const t = this.time[row]!;
      const after = t < bound.time || (t === bound.time && row < bound.row);
      if (after) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  page(o: { now: number; durationDays: number; pageSize: number; after?: LogCursor; filter: LogFilter }): {
    entries: ZoomCallLog[];
    next?: LogCursor;
  } {
    // Entries "in the future" of the fake clock have not happened yet.
    let i = this.firstAfter(o.after ?? { time: o.now, row: Number.MAX_SAFE_INTEGER });
    const oldest = o.now - o.durationDays * DAY_MS;
    const entries: ZoomCallLog[] = [];
    let last: LogCursor | undefined;
    for (; i < this.size; i += 1) {
      const row = this.rowAt(i);
      if (this.time[row]! < oldest) break;
      if (!this.matches(row, o.filter)) continue;
      if (entries.length === o.pageSize) return { entries, ...(last ? { next: last } : {}) };
      entries.push(this.entry(row));
      last = { time: this.time[row]!, row };
    }
    return { entries };
  }

  private matches(row: number, f: LogFilter): boolean {
    if (f.method !== undefined && this.methods.values[this.method[row]!] !== f.method) return false;
    if (f.statusCode !== undefined && this.status[row] !== f.statusCode) return false;
    if (f.query !== undefined && !this.urls.values[this.url[row]!]!.toLowerCase().includes(f.query)) return false;
    return true;
  }

  private entry(row: number): ZoomCallLog {
    const gone = this.missing.get(row);
    const e: ZoomCallLog = {
      url_pattern: this.urls.values[this.url[row]!]!,
      time: String(this.time[row]),
      http_status: this.status[row]!,
      method: this.methods.values[this.method[row]!]!,
      trace_id: this.traces.get(row) ?? `v=2.0;clid=fake;rid=${this.appId}-${row}`,
    };
    if (gone?.trace) delete e.trace_id;
    if (gone?.method) delete e.method;
    if (gone?.url) delete e.url_pattern;
    if (gone?.status) delete e.http_status;
    return e;
  }
}

interface IssuedToken {
  accountId: string;
  expiresAt: number;
  revoked: boolean;
}

type PageCursor =
  | { kind: 'logs'; appId: string; at: LogCursor; issuedAt: number }
  /** A shaped listing: position `offset` in snapshot `rows`, `page` pages answered so far. */
  | { kind: 'shaped'; appId: string; rows: number[]; offset: number; page: number; issuedAt: number }
  | { kind: 'apps'; accountId: string; offset: number; issuedAt: number };

interface Scripted extends FakeAnswer {
  remaining: number;
}

export async function startFakeZoom(opts: { clock?: Clock } = {}): Promise<FakeZoom> {
  const clock = opts.clock ?? Date.now;
  const accounts = new Map<string, Required<FakeZoomAccount>>();
  const apps = new Map<string, { accountId: string; app: FakeZoomApp }>();
  const logs = new Map<string, LogStore>();
  const shapes = new Map<string, LogShape>();
  // Shared by all apps: URLs and methods repeat a lot.
  const methods = new Interner();
  const urls = new Interner();
  const tokens = new Map<string, IssuedToken>();
  const pageTokens = new Map<string, PageCursor>();
  const scripted: Scripted[] = [];
  const hangs: Array<{ remaining: number; path?: RegExp }> = [];
  const requests: string[] = [];
  const deleted: string[] = [];
  const removals: string[] = [];
  const deleteHolds: Array<{ remaining: number; ms?: number }> = [];
  let tokenRequests = 0;
  let deleteMode: DeleteMode = 'no_content';
  let deleteNotFound: DeleteNotFoundMode = 'code_1401';
  let tokenDelayMs = 0;
  let origin = '';

  const storeFor = (appId: string): LogStore => {
    let store = logs.get(appId);
    if (!store) {
      store = new LogStore(appId, methods, urls);
      logs.set(appId, store);
    }
    return store;
  };

  const takeScripted = (line: string, isApi: boolean): Scripted | undefined => {
    const found = scripted.find((s) => s.remaining > 0 && (s.path ? s.path.test(line) : isApi));
    if (found) found.remaining -= 1;
    return found;
  };
  const takeHang = (line: string, isApi: boolean): boolean => {
    const found = hangs.find((h) => h.remaining > 0 && (h.path ? h.path.test(line) : isApi));
    if (found) found.remaining -= 1;
    return found !== undefined;
  };

  const issuePageToken = (cursor: PageCursor): string => {
    if (pageTokens.size > 10_000) {
      for (const [token, c] of pageTokens) if (clock() - c.issuedAt > PAGE_TOKEN_TTL_MS) pageTokens.delete(token);
    }
    const token = randomBytes(24).toString('base64url');
    pageTokens.set(token, cursor);
    return token;
  };
  const readPageToken = (token: string): PageCursor | undefined => {
    const cursor = pageTokens.get(token);
    if (!cursor || clock() - cursor.issuedAt > PAGE_TOKEN_TTL_MS) return undefined;
    return cursor;
  };

  function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
    const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, {
      ...(text ? { 'Content-Type': 'application/json;charset=UTF-8' } : {}),
      'Content-Length': String(Buffer.byteLength(text)),
      ...headers,
    });
    res.end(text);
  }
  const zoomError = (res: ServerResponse, status: number, code: number, message: string) => send(res, status, { code, message });

  async function handleToken(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    tokenRequests += 1;
    const form = new URLSearchParams(await readBody(req));
    const param = (name: string) => form.get(name) ?? url.searchParams.get(name);
    if (tokenDelayMs) await new Promise((resolve) => setTimeout(resolve, tokenDelayMs));
    const basic = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const [clientId, ...secretParts] = basic ? Buffer.from(basic, 'base64').toString('utf8').split(':') : [];
    const account = [...accounts.values()].find((a) => a.clientId === clientId && a.clientSecret === secretParts.join(':'));
    if (!account) return send(res, 400, { reason: 'Invalid client_id or client_secret', error: 'invalid_client' });
    if (param('grant_type') !== 'account_credentials') return send(res, 400, { reason: 'Unsupported grant type', error: 'unsupported_grant_type' });
    if (param('account_id') !== account.accountId) return send(res, 400, { reason: 'Invalid account_id', error: 'invalid_request' });
    const token = `eyJ${randomBytes(30).toString('base64url')}`;
    tokens.set(token, { accountId: account.accountId, expiresAt: clock() + TOKEN_LIFETIME_S * 1000, revoked: false });
    return send(res, 200, {
      access_token: token,
      token_type: 'bearer',
      expires_in: TOKEN_LIFETIME_S,
      scope: account.scopes.join(' '),
      api_url: origin,
    });
  }

  /** List apps' usage fields of one app, in the shapes zoomjwt assumes (see src/platform/zoom/types.ts). */
  function usageFields(mode: MetricsMode, appId: string, overrides: Record<string, unknown> | undefined): Record<string, unknown> {
    if (mode === 'absent') return {};
    if (mode === 'off') return { enable_metrics: false };
    const days = 30;
    const u = logs.get(appId)?.usage(clock(), days) ?? { total: 0, failed: 0 };
    // Zoom's other date-times are ISO 8601 to the second.
    const iso = (t: number | undefined) => (t === undefined ? null : new Date(Math.floor(t / 1000) * 1000).toISOString().replace('.000Z', 'Z'));
    const out: Record<string, unknown> = {
      enable_metrics: true,
      first_used: iso(u.first),
      last_used: iso(u.last),
      duration: days,
      total_calls: u.total,
      failed_calls: u.failed,
      active_users: u.total ? 1 : 0,
      connections: u.total ? 1 : 0,
      adds: 1,
      works_with: [],
      ...overrides,
    };
    for (const [k, v] of Object.entries(out)) if (v === null) delete out[k];
    return out;
  }

  /** The calling account, or undefined after answering 401. */
  function authenticate(req: IncomingMessage, res: ServerResponse): Required<FakeZoomAccount> | undefined {
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const issued = bearer ? tokens.get(bearer) : undefined;
    const account = issued ? accounts.get(issued.accountId) : undefined;
    if (!issued || !account || issued.revoked || issued.expiresAt <= clock()) {
      zoomError(res, 401, 124, 'Invalid access token.');
      return undefined;
    }
    return account;
  }

  function requireScope(res: ServerResponse, account: Required<FakeZoomAccount>, scope: string): boolean {
    if (account.scopes.includes(scope)) return true;
    zoomError(res, 401, 201, `Invalid access token, does not contain scopes:[${scope}].`);
    return false;
  }

  /** Resolves the app for an app route: 1401 when unknown, 401/124 when another account's. */
  function ownedApp(res: ServerResponse, account: Required<FakeZoomAccount>, appId: string): FakeZoomApp | undefined {
    const found = apps.get(appId);
    if (!found) {
      zoomError(res, 404, 1401, 'App ID does not exist');
      return undefined;
    }
    if (found.accountId !== account.accountId) {
      zoomError(res, 401, 124, 'Invalid access token.');
      return undefined;
    }
    return found.app;
  }

  function handleApi(req: IncomingMessage, res: ServerResponse, url: URL, path: string): void {
    const account = authenticate(req, res);
    if (!account) return;
    const q = url.searchParams;
    const segments = path.split('/').filter(Boolean).map(decodeURIComponent);
    const method = req.method ?? 'GET';

    if (method === 'GET' && segments.length === 2 && segments[0] === 'marketplace' && segments[1] === 'apps') {
      if (!requireScope(res, account, ALL_SCOPES[0]!)) return;
      const pageSize = q.has('page_size') ? Number(q.get('page_size')) : 30;
      if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 300) return zoomError(res, 400, 300, 'Invalid page size');
      let offset = 0;
      const token = q.get('next_page_token');
      if (token) {
        const cursor = readPageToken(token);
        if (!cursor || cursor.kind !== 'apps' || cursor.accountId !== account.accountId) return zoomError(res, 400, 301, 'Invalid next page token.');
        offset = cursor.offset;
      }
      const mine = q.get('type') === 'account_created' ? [...apps.values()].filter((a) => a.accountId === account.accountId) : [];
      const page = mine.slice(offset, offset + pageSize).map((a) => {
        const { metrics: overrides, getWithoutAppId: _ignored, ...fields } = a.app;
        return {
          app_type: 'OAuthApp',
          app_usage: 1,
          app_status: 'UNPUBLISHED',
          app_developer_type: 'INTERNAL',
          ...fields,
          ...usageFields(account.metrics, a.app.app_id, overrides),
        };
      });
      const more = offset + pageSize < mine.length;
      return send(res, 200, {
        page_size: pageSize,
        next_page_token: more ? issuePageToken({ kind: 'apps', accountId: account.accountId, offset: offset + pageSize, issuedAt: clock() }) : '',
        apps: page,
      });
    }

    if (segments[0] === 'marketplace' && segments[1] === 'apps' && segments[2] !== undefined && segments.length <= 4) {
      const appId = segments[2];
      const sub = segments[3];
      if (method === 'GET' && sub === undefined) {
        if (!requireScope(res, account, ALL_SCOPES[1]!)) return;
        const app = ownedApp(res, account, appId);
        if (!app) return;
        // Get answers the status in lower case where the list says `UNPUBLISHED` (seen live).
        const { getWithoutAppId, metrics: _metrics, ...fields } = app;
        const answer: Record<string, unknown> = { app_type: 'OAuthApp', app_usage: 1, app_status: 'unpublished', app_scopes: [], ...fields };
        if (getWithoutAppId) delete answer.app_id;
        return send(res, 200, answer);
      }
      if (method === 'DELETE' && sub === undefined) {
        deleted.push(appId);
        if (!requireScope(res, account, ALL_SCOPES[3]!)) return;
        if (!apps.has(appId) && deleteNotFound === 'no_code') return send(res, 404, { message: 'App not found' });
        if (!ownedApp(res, account, appId)) return;
        if (deleteMode === 'forbidden') return zoomError(res, 403, 403, 'You do not have permission to delete this app.');
        apps.delete(appId);
        removals.push(appId);
        const answerDelete = () => (deleteMode === 'ok_empty' ? send(res, 200) : send(res, 204));
        const hold = deleteHolds.find((h) => h.remaining > 0);
        if (hold) {
          hold.remaining -= 1;
          if (hold.ms !== undefined) setTimeout(answerDelete, hold.ms).unref();
          return;
        }
        return answerDelete();
      }
      if (method === 'GET' && sub === 'api_call_logs') {
        if (!requireScope(res, account, ALL_SCOPES[2]!)) return;
        if (!ownedApp(res, account, appId)) return;
        const pageSize = q.has('page_size') ? Number(q.get('page_size')) : 30;
        if (!Number.isInteger(pageSize) || pageSize < 10 || pageSize > 100) return zoomError(res, 400, 300, 'Invalid page size');
        const duration = q.has('duration') ? Number(q.get('duration')) : 7;
        if (![7, 14, 30].includes(duration)) return zoomError(res, 400, 300, 'Invalid field: duration');
        let after: LogCursor | undefined;
        const token = q.get('next_page_token');
        const shape = shapes.get(appId);
        const filter: LogFilter = {};
        if (q.get('method')) filter.method = q.get('method')!.toUpperCase();
        if (q.get('status_code')) filter.statusCode = Number(q.get('status_code'));
        if (q.get('query')) filter.query = q.get('query')!.toLowerCase();
        if (shape) {
          let cursor: Extract<PageCursor, { kind: 'shaped' }>;
          if (token) {
            const c = readPageToken(token);
            if (!c || c.kind !== 'shaped' || c.appId !== appId) return zoomError(res, 400, 301, 'Invalid next page token.');
            cursor = c;
          } else {
            const store = logs.get(appId) ?? new LogStore(appId, methods, urls);
            cursor = { kind: 'shaped', appId, rows: store.snapshot({ now: clock(), durationDays: duration, filter, shape, pageSize }), offset: 0, page: 0, issuedAt: clock() };
          }
          const store = logs.get(appId) ?? new LogStore(appId, methods, urls);
          const pageNo = cursor.page + 1;
          const empty = shape.emptyEvery !== undefined && shape.emptyEvery > 0 && pageNo % shape.emptyEvery === 0;
          const rows = empty ? [] : cursor.rows.slice(cursor.offset, cursor.offset + pageSize);
          const offset = cursor.offset + rows.length;
          const more = offset < cursor.rows.length;
          const entries: unknown[] = rows.map((r) => store.entryAt(r, shape));
          for (let i = 0; i < (shape.unreadablePerPage ?? 0); i += 1) {
            entries.splice(Math.min(entries.length, 1 + i), 0, { url_pattern: 'https://api.zoom.us/v2/users/me', time: 'n/a', http_status: 200, method: 'GET', trace_id: `bad-${pageNo}-${i}` });
          }
          return send(res, 200, {
            next_page_token: more ? issuePageToken({ ...cursor, offset, page: pageNo, issuedAt: clock() }) : '',
            page_size: pageSize,
            call_logs: entries,
          });
        }
        if (token) {
          const cursor = readPageToken(token);
          if (!cursor || cursor.kind !== 'logs' || cursor.appId !== appId) return zoomError(res, 400, 301, 'Invalid next page token.');
          after = cursor.at;
        }
        const page = (logs.get(appId) ?? new LogStore(appId, methods, urls)).page({
          now: clock(),
          durationDays: duration,
          pageSize,
          ...(after ? { after } : {}),
          filter,
        });
        return send(res, 200, {
          next_page_token: page.next ? issuePageToken({ kind: 'logs', appId, at: page.next, issuedAt: clock() }) : '',
          page_size: pageSize,
          call_logs: page.entries,
        });
      }
    }
    return zoomError(res, 404, 404, 'Not found.');
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake.zoom');
    const method = req.method ?? 'GET';
    const isToken = url.pathname === TOKEN_PATH;
    const isApi = url.pathname.startsWith(`${API_PREFIX}/`);
    const path = isApi ? url.pathname.slice(API_PREFIX.length) : url.pathname;
    const line = `${method} ${path}${url.search}`;
    if (isApi) requests.push(line);
    if (takeHang(line, isApi)) {
      // Never answered; drain the body so the client considers the request sent.
      req.resume();
      return;
    }
    const script = takeScripted(line, isApi);
    if (script) {
      if (isToken) tokenRequests += 1;
      req.resume();
      return send(res, script.status, script.body, script.headers);
    }
    if (isToken && method === 'POST') {
      handleToken(req, res, url).catch(() => send(res, 500, { reason: 'fake zoom error', error: 'server_error' }));
      return;
    }
    req.resume();
    if (isApi) return handleApi(req, res, url, path);
    return zoomError(res, 404, 404, 'Not found.');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  origin = `http://127.0.0.1:${port}`;

  return {
    apiUrl: `${origin}${API_PREFIX}`,
    oauthUrl: `${origin}${TOKEN_PATH}`,
    addAccount(account) {
      accounts.set(account.accountId, { ...account, scopes: account.scopes ?? [...ALL_SCOPES], metrics: account.metrics ?? 'absent' });
    },
    setMetrics(accountId, mode) {
      const account = accounts.get(accountId);
      if (!account) throw new Error(`fake zoom: unknown account ${accountId}`);
      account.metrics = mode;
    },
    setAppMetrics(appId, overrides) {
      const found = apps.get(appId);
      if (!found) throw new Error(`fake zoom: unknown app ${appId}`);
      found.app.metrics = { ...overrides };
    },
    setScopes(accountId, scopes) {
      const account = accounts.get(accountId);
      if (!account) throw new Error(`fake zoom: unknown account ${accountId}`);
      account.scopes = [...scopes];
    },
    addApp(accountId, app) {
      if (!accounts.has(accountId)) throw new Error(`fake zoom: unknown account ${accountId}`);
      apps.set(app.app_id, { accountId, app: { ...app } });
    },
    removeApp(appId) {
      apps.delete(appId);
    },
    hasApp: (appId) => apps.has(appId),
    addLogs(appId, entries) {
      storeFor(appId).add(entries);
    },
    setLogShape(appId, shape) {
      shapes.set(appId, { ...shape });
    },
    generateLogs(appId, options) {
      const store = storeFor(appId);
      store.generate(options);
      return store.size;
    },
    logCount: (appId) => logs.get(appId)?.size ?? 0,
    failNext(n, answer) {
      scripted.push({ ...answer, remaining: n });
    },
    hangNext(n, path) {
      hangs.push({ remaining: n, ...(path ? { path } : {}) });
    },
    revokeTokens() {
      for (const t of tokens.values()) t.revoked = true;
    },
    setDeleteMode(mode) {
      deleteMode = mode;
    },
    setDeleteNotFound(mode) {
      deleteNotFound = mode;
    },
    setTokenDelay(ms) {
      tokenDelayMs = ms;
    },
    issuedTokens: () => [...tokens.keys()],
    get tokenRequests() {
      return tokenRequests;
    },
    requests,
    deleted,
    removals,
    holdDeleteResponses(n, ms) {
      deleteHolds.push({ remaining: n, ...(ms !== undefined ? { ms } : {}) });
    },
    resetCounters() {
      tokenRequests = 0;
      requests.length = 0;
      deleted.length = 0;
      removals.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Deterministic PRNG in [0, 1). */
function mulberry32(seed: number): () => number {
  // Local binding: global lookups are slow inside vm contexts (jest), and this runs per entry.
  const imul = Math.imul;
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Maps a uniform number to an index with the given weights. */
function weightedPicker(weights: number[]): (u: number) => number {
  const total = weights.reduce((s, w) => s + Math.max(0, w), 0);
  const cumulative: number[] = [];
  let acc = 0;
  for (const w of weights) {
    acc += Math.max(0, w) / (total || 1);
    cumulative.push(acc);
  }
  return (u) => {
    const i = cumulative.findIndex((c) => u < c);
    return i === -1 ? weights.length - 1 : i;
  };
}
