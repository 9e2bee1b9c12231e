/**
 * The Zoom Marketplace client for one account (SPEC §3, §4.3): bearer token from the shared
 * cache, rate limits, retries and pagination, with every non-success mapped once to a ZoomError.
 *
 * Retry policy, per call:
 *  - 401 → drop the token (compare-and-delete) and retry once with a fresh one;
 *  - 429 QPS (or untyped) → wait ~1 s with jitter, up to 5 retries;
 *  - 429 Daily-limit → store a pause for the account until Retry-After, throw ZoomPausedError;
 *    while paused nothing is sent;
 *  - 5xx, 400 code 1505 ("internal server error, please try again"), network errors, timeouts →
 *    exponential backoff with jitter, 3 attempts in all;
 *  - other 4xx → final.
 */
import axios, { type AxiosInstance } from 'axios';
import type { Redis } from 'ioredis';
import type { ZoomAccount } from '../../config';
import type { Logger } from '../../log';
import type { Keys } from '../redis/keys';
import {
  TOKEN_ENDPOINT,
  ZOOM_CODES,
  ZoomError,
  ZoomPausedError,
  errorFromResponse,
  errorFromTransport,
  isRetryableServerCode,
  readErrorBody,
} from './errors';
import { createTokenCache, type RawAnswer } from './token';
import { getPause, setPause } from './stores/pause';
import type { CallLogPage, LogDuration, ZoomApi, ZoomAppInfo, ZoomAppSummary, ZoomAppUsage, ZoomCallLog } from './types';
import type { Clock } from '../../kernel/clock';


export interface ZoomRequestInfo {
  /** Template such as `GET /marketplace/apps/{appId}/api_call_logs`, or `POST /oauth/token`. */
  endpoint: string;
  status: number | 'error';
  /** Wall time of the HTTP exchange (ms). */
  ms: number;
}

export interface ZoomClientOptions {
  account: ZoomAccount;
  oauthUrl: string;
  redis: Redis;
  keys: Keys;
  log: Logger;
  clock: Clock;
  /** Registers fetched access tokens with the log scrubber. */
  addSecret(secret: string): void;
  /** Per HTTP request (ms). Default 15000. */
  timeoutMs?: number;
  /** Backoff waits; tests pass a fast one. Default: a real timer. */
  sleep?: (ms: number) => Promise<void>;
  /** Metrics hook, called once per HTTP request (API calls and token fetches). */
  onRequest?: (info: ZoomRequestInfo) => void;
}

export interface ZoomClientStats {
  /** HTTP requests sent to the API (token fetches excluded): the "API requests spent". */
  requests: number;
  /** Token requests sent by this client's process-local cache. */
  tokenFetches: number;
}

export type ZoomClient = ZoomApi & { stats(): ZoomClientStats };

/** Scopes the bot's Server-to-Server app needs (SPEC §3), by endpoint. */
export const ZOOM_SCOPES = {
  listApps: 'marketplace:read:list_apps:admin',
  getApp: 'marketplace:read:app:admin',
  callLogs: 'marketplace:read:list_api_logs:admin',
  deleteApp: 'marketplace:write:app:admin',
} as const;

const ENDPOINTS = {
  listApps: 'GET /marketplace/apps',
  getApp: 'GET /marketplace/apps/{appId}',
  callLogs: 'GET /marketplace/apps/{appId}/api_call_logs',
  deleteApp: 'DELETE /marketplace/apps/{appId}',
} as const;

const DEFAULT_TIMEOUT_MS = 15_000;
/** 5xx / network / timeout: attempts in all, and the first backoff (ms), doubled each time. */
const SERVER_ATTEMPTS = 3;
const SERVER_BACKOFF_MS = 500;
/** QPS 429: retries after the first answer, and the base wait (ms) plus up to half of it as jitter. */
const QPS_RETRIES = 5;
const QPS_WAIT_MS = 1_000;
/** Daily-limit pause bounds (ms): never shorter than a minute, never longer than two days. */
const MIN_PAUSE_MS = 60_000;
const MAX_PAUSE_MS = 48 * 3_600_000;
/** listApps stops after this many pages (300 apps each) rather than loop on a bad token. */
const MAX_APP_PAGES = 100;
/** Responses larger than this are refused (bytes); a call-log page of 100 entries is ~30 KB. */
const MAX_BODY_BYTES = 20 * 1024 * 1024;

/**
 * Reads Zoom's Daily-limit `Retry-After` (an ISO timestamp, not seconds) into epoch ms.
 * Bare digits are read as seconds, as HTTP defines them (Date.parse would take them for a year).
 * Unreadable → the next UTC midnight, when daily limits reset. Clamped to [1 min, 48 h] from now.
 */
export function pauseUntil(retryAfter: string | undefined, now: number): number {
  let until: number | undefined;
  const text = retryAfter?.trim() ?? '';
  if (/^\d+$/.test(text)) until = now + Number(text) * 1000;
  else if (text) {
    const parsed = Date.parse(text);
    if (Number.isFinite(parsed)) until = parsed;
  }
  if (until === undefined) {
    const d = new Date(now);
    until = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
  }
  return Math.min(Math.max(until, now + MIN_PAUSE_MS), now + MAX_PAUSE_MS);
}

interface Parsed {
  status: number;
  /** JSON body; undefined when empty or (for non-2xx) unreadable. */
  body: unknown;
}

type SendResult = { ok: true; answer: RawAnswer } | { ok: false; code: string | undefined; timedOut: boolean };

export function createZoomClient(opts: ZoomClientOptions): ZoomClient {
  const { account, redis, keys, clock } = opts;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const log = opts.log.child({ zoomAccount: account.name });
  const apiBase = account.apiUrl.replace(/\/+$/, '');
  let requests = 0;

  const http: AxiosInstance = axios.create({
    timeout: timeoutMs,
    // Every status is mapped here, not thrown by axios.
    validateStatus: () => true,
    // Raw text: malformed JSON must be detected, not silently passed through as a string.
    responseType: 'text',
    transformResponse: [(data: unknown) => data],
    // A redirect would be a misconfigured URL; following it could carry the bearer elsewhere.
    maxRedirects: 0,
    maxContentLength: MAX_BODY_BYTES,
    transitional: { clarifyTimeoutError: true },
    headers: { 'User-Agent': 'zoomjwt', Accept: 'application/json' },
  });

  function report(info: ZoomRequestInfo): void {
    try {
      opts.onRequest?.(info);
    } catch {
      // A metrics hook must never break a Zoom call.
    }
  }

  /** One HTTP exchange. Never throws; never keeps the axios error (it holds the headers). */
  async function send(config: {
    method: 'GET' | 'POST' | 'DELETE';
    url: string;
    endpoint: string;
    headers: Record<string, string>;
    data?: string;
  }): Promise<SendResult> {
    const controller = new AbortController();
    let timedOut = false;
    // Backstop for axios' socket-idle timeout: bounds the whole exchange, slow trickles included.
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const started = performance.now();
    try {
      const res = await http.request<string>({ ...config, signal: controller.signal });
      report({ endpoint: config.endpoint, status: res.status, ms: performance.now() - started });
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(res.headers)) {
        if (value !== undefined && value !== null) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
      }
      return { ok: true, answer: { status: res.status, headers, text: typeof res.data === 'string' ? res.data : '' } };
    } catch (err) {
      report({ endpoint: config.endpoint, status: 'error', ms: performance.now() - started });
      const code = (err as { code?: unknown }).code;
      return { ok: false, code: typeof code === 'string' ? code : undefined, timedOut };
    } finally {
      clearTimeout(timer);
    }
  }

  const tokens = createTokenCache({
    account,
    oauthUrl: opts.oauthUrl,
    redis,
    keys,
    log: opts.log,
    clock,
    addSecret: opts.addSecret,
    timeoutMs,
    async post(url, form, authorization) {
      const result = await send({
        method: 'POST',
        url,
        endpoint: TOKEN_ENDPOINT,
        headers: { Authorization: authorization, 'Content-Type': 'application/x-www-form-urlencoded' },
        data: form,
      });
      if (!result.ok) throw errorFromTransport({ account: account.name, endpoint: TOKEN_ENDPOINT, code: result.code, timedOut: result.timedOut });
      return result.answer;
    },
  });

  async function assertNotPaused(endpoint: string): Promise<void> {
    const until = await getPause(redis, keys, account.name, clock());
    if (until !== null) throw new ZoomPausedError({ account: account.name, until, endpoint });
  }

  async function pause(answer: RawAnswer, endpoint: string): Promise<never> {
    const now = clock();
    const until = pauseUntil(answer.headers['retry-after'], now);
    await setPause(redis, keys, account.name, until, now);
    log.warn({ endpoint, until: new Date(until).toISOString() }, 'zoom daily limit reached; account paused');
    throw new ZoomPausedError({ account: account.name, until, endpoint, status: 429, code: 429 });
  }

  /**
   * Sends one API request with the retry policy above. Returns the final answer when it is a
   * 2xx or a 4xx other than 401/429 (the caller decides what those mean); throws otherwise.
   */
  async function call(req: { method: 'GET' | 'DELETE'; endpoint: string; path: string; query?: URLSearchParams; scope: string }): Promise<Parsed> {
    const rest = `${req.path}${req.query && [...req.query.keys()].length ? `?${req.query.toString()}` : ''}`;
    let refreshed = false;
    let qpsRetries = 0;
    let failures = 0;
    const backoff = async (status: number | string) => {
      const waitMs = Math.round(SERVER_BACKOFF_MS * 2 ** (failures - 1) * (0.75 + Math.random() / 2));
      log.warn({ endpoint: req.endpoint, status, attempt: failures, waitMs }, 'zoom request failed; retrying');
      await sleep(waitMs);
    };

    for (;;) {
      await assertNotPaused(req.endpoint);
      let token: string;
      try {
        token = await tokens.get();
      } catch (err) {
        // A token endpoint outage gets the same patience as an API outage.
        if (err instanceof ZoomError && (err.kind === 'server' || err.kind === 'network' || err.kind === 'timeout' || err.kind === 'rate_limited')) {
          failures += 1;
          if (failures >= SERVER_ATTEMPTS) throw err;
          await backoff(err.status ?? err.kind);
          continue;
        }
        throw err;
      }

      requests += 1;
      // Zoom's `api_url` (regional, government cloud) when no API base was configured.
      const url = `${(account.apiUrlDefault ? tokens.apiUrl() : undefined) ?? apiBase}${rest}`;
      const result = await send({ method: req.method, url, endpoint: req.endpoint, headers: { Authorization: `Bearer ${token}` } });
      if (!result.ok) {
        failures += 1;
        if (failures >= SERVER_ATTEMPTS) {
          throw errorFromTransport({ account: account.name, endpoint: req.endpoint, code: result.code, timedOut: result.timedOut, attempts: failures });
        }
        await backoff(result.timedOut ? 'timeout' : (result.code ?? 'error'));
        continue;
      }

      const answer = result.answer;
      const { status } = answer;
      log.debug({ endpoint: req.endpoint, status }, 'zoom request');
      const fail = (attempts?: number) =>
        errorFromResponse({
          account: account.name,
          endpoint: req.endpoint,
          status,
          body: parseLenient(answer.text),
          requiredScope: req.scope,
          ...(attempts !== undefined ? { attempts } : {}),
        });

      if (status === 401) {
        if (refreshed) throw fail();
        // Most likely expired or replaced by a newer token: drop it (only if still cached) and retry once.
        refreshed = true;
        await tokens.invalidate(token);
        continue;
      }
      if (status === 429) {
        if (/daily/i.test(answer.headers['x-ratelimit-type'] ?? '')) return pause(answer, req.endpoint);
        if (qpsRetries >= QPS_RETRIES) throw fail(qpsRetries + 1);
        qpsRetries += 1;
        const waitMs = Math.round(QPS_WAIT_MS * (1 + Math.random() / 2));
        log.warn({ endpoint: req.endpoint, attempt: qpsRetries, waitMs }, 'zoom per-second rate limit; retrying');
        await sleep(waitMs);
        continue;
      }
      if (status >= 500 || isRetryableServerCode(status, readErrorBody(parseLenient(answer.text)).code)) {
        failures += 1;
        if (failures >= SERVER_ATTEMPTS) throw fail(failures);
        await backoff(status);
        continue;
      }
      if (status >= 200 && status < 300) {
        if (!answer.text.trim()) return { status, body: undefined };
        try {
          return { status, body: JSON.parse(answer.text) as unknown };
        } catch {
          throw malformed(req.endpoint, status, 'the answer is not JSON');
        }
      }
      if (status >= 300 && status < 400) throw fail();
      return { status, body: parseLenient(answer.text) };
    }
  }

  function malformed(endpoint: string, status: number, why: string): ZoomError {
    return new ZoomError({ kind: 'malformed', account: account.name, endpoint, status, zoomMessage: why });
  }

  function finalError(endpoint: string, scope: string, res: Parsed): ZoomError {
    return errorFromResponse({ account: account.name, endpoint, status: res.status, body: res.body, requiredScope: scope });
  }

  const isAppGone = (res: Parsed) => res.status === 404 && readErrorBody(res.body).code === ZOOM_CODES.appNotFound;

  const appPath = (appId: string) => `/marketplace/apps/${encodeURIComponent(appId)}`;

  return {
    account: account.name,

    async listApps() {
      const apps: ZoomAppSummary[] = [];
      const seenTokens = new Set<string>();
      let skipped = 0;
      let nextPageToken = '';
      for (let page = 0; ; page += 1) {
        if (page >= MAX_APP_PAGES) throw malformed(ENDPOINTS.listApps, 200, `more than ${MAX_APP_PAGES} pages of apps`);
        const query = new URLSearchParams({ type: 'account_created', page_size: '300' });
        if (nextPageToken) query.set('next_page_token', nextPageToken);
        const res = await call({ method: 'GET', endpoint: ENDPOINTS.listApps, path: '/marketplace/apps', query, scope: ZOOM_SCOPES.listApps });
        if (res.status < 200 || res.status >= 300) throw finalError(ENDPOINTS.listApps, ZOOM_SCOPES.listApps, res);
        const body = asObject(res.body);
        if (!body) throw malformed(ENDPOINTS.listApps, res.status, 'the answer is not an object');
        const list = body.apps ?? [];
        if (!Array.isArray(list)) throw malformed(ENDPOINTS.listApps, res.status, '"apps" is not an array');
        for (const raw of list) {
          const app = readAppSummary(raw);
          if (app) apps.push(app);
          else skipped += 1;
        }
        nextPageToken = typeof body.next_page_token === 'string' ? body.next_page_token : '';
        if (!nextPageToken) break;
        if (seenTokens.has(nextPageToken)) throw malformed(ENDPOINTS.listApps, res.status, 'the same page token came back twice');
        seenTokens.add(nextPageToken);
      }
      if (skipped) log.warn({ skipped }, 'zoom listed apps without app_id; skipped');
      return apps;
    },

    async getApp(appId) {
      const res = await call({ method: 'GET', endpoint: ENDPOINTS.getApp, path: appPath(appId), scope: ZOOM_SCOPES.getApp });
      if (isAppGone(res)) return null;
      if (res.status < 200 || res.status >= 300) throw finalError(ENDPOINTS.getApp, ZOOM_SCOPES.getApp, res);
      const info = readAppInfo(res.body, appId);
      if (!info) throw malformed(ENDPOINTS.getApp, res.status, 'the answer is not an object');
      return info;
    },

    async listCallLogs(appId, options) {
      const endpoint = ENDPOINTS.callLogs;
      checkLogOptions(account.name, endpoint, options);
      const query = new URLSearchParams({ duration: String(options.duration), page_size: String(options.pageSize) });
      if (options.nextPageToken) query.set('next_page_token', options.nextPageToken);
      const res = await call({ method: 'GET', endpoint, path: `${appPath(appId)}/api_call_logs`, query, scope: ZOOM_SCOPES.callLogs });
      if (res.status < 200 || res.status >= 300) throw finalError(endpoint, ZOOM_SCOPES.callLogs, res);
      const body = asObject(res.body);
      if (!body) throw malformed(endpoint, res.status, 'the answer is not an object');
      const list = body.call_logs ?? [];
      if (!Array.isArray(list)) throw malformed(endpoint, res.status, '"call_logs" is not an array');
      if (body.next_page_token !== undefined && body.next_page_token !== null && typeof body.next_page_token !== 'string') {
        throw malformed(endpoint, res.status, '"next_page_token" is not a string');
      }
      const entries: ZoomCallLog[] = [];
      let skipped = 0;
      for (const raw of list) {
        const entry = readCallLog(raw);
        if (entry) entries.push(entry);
        else skipped += 1;
      }
      if (skipped) log.warn({ appId, skipped }, 'zoom call-log entries unreadable; skipped');
      return { entries, nextPageToken: typeof body.next_page_token === 'string' ? body.next_page_token : '', skipped } satisfies CallLogPage;
    },

    async deleteApp(appId) {
      const res = await call({ method: 'DELETE', endpoint: ENDPOINTS.deleteApp, path: appPath(appId), scope: ZOOM_SCOPES.deleteApp });
      if (res.status >= 200 && res.status < 300) return 'deleted';
      if (isAppGone(res)) return 'already_gone';
      if (res.status === 404) {
        // Zoom documents DELETE's 404 ("App not found") without a code, so it cannot tell a
        // removed app (e.g. our own earlier DELETE whose answer was lost) from a wrong URL. Get
        // can: 404/1401 there means gone; an app still there keeps the 404 as the final answer.
        log.info({ appId, code: readErrorBody(res.body).code }, 'zoom DELETE answered 404 without code 1401; asking Get app');
        const check = await call({ method: 'GET', endpoint: ENDPOINTS.getApp, path: appPath(appId), scope: ZOOM_SCOPES.getApp });
        if (isAppGone(check)) return 'already_gone';
        if (check.status < 200 || check.status >= 300) throw finalError(ENDPOINTS.getApp, ZOOM_SCOPES.getApp, check);
      }
      throw finalError(ENDPOINTS.deleteApp, ZOOM_SCOPES.deleteApp, res);
    },

    stats: () => ({ requests, tokenFetches: tokens.fetches() }),
  };
}

function checkLogOptions(account: string, endpoint: string, options: { duration: LogDuration; pageSize: number }): void {
  const problems: string[] = [];
  if (![7, 14, 30].includes(options.duration)) problems.push('duration must be 7, 14 or 30');
  if (!Number.isInteger(options.pageSize) || options.pageSize < 10 || options.pageSize > 100) problems.push('page size must be 10 to 100');
  if (problems.length) throw new ZoomError({ kind: 'client', account, endpoint, zoomMessage: `not sent: ${problems.join('; ')}` });
}

function parseLenient(text: string): unknown {
  try {
    return text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    return undefined;
  }
}

function asObject(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';

function readAppSummary(raw: unknown): ZoomAppSummary | null {
  const o = asObject(raw);
  if (!o || !nonEmpty(o.app_id)) return null;
  const app: ZoomAppSummary = { app_id: o.app_id, app_name: typeof o.app_name === 'string' ? o.app_name : '' };
  if (typeof o.app_type === 'string') app.app_type = o.app_type;
  if (typeof o.app_status === 'string') app.app_status = o.app_status;
  if (typeof o.app_developer_type === 'string') app.app_developer_type = o.app_developer_type;
  const usage = readAppUsage(o);
  if (usage) app.usage = usage;
  return app;
}

/** A usage count: a non-negative safe integer, or the digits of one; anything else is unknown. */
function readCount(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,15}$/.test(v.trim()) ? Number(v.trim()) : Number.NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** A usage time: ISO 8601 text, or epoch seconds/ms (by magnitude, as call-log times). */
function readUsageTime(v: unknown): number | undefined {
  if (typeof v === 'number' || (typeof v === 'string' && /^\d{1,15}$/.test(v.trim()))) {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) return undefined;
    return Math.round(n < SECONDS_BELOW ? n * 1000 : n);
  }
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}/.test(v.trim())) return undefined;
  const t = Date.parse(v.trim());
  return Number.isFinite(t) && t > 0 ? t : undefined;
}

/**
 * Zoom's usage fields of one listed app, or undefined when the account does not send them
 * (`enable_metrics` false, or none of the fields readable). Unreadable fields are left out one by
 * one: a wrong type never becomes a zero.
 */
export function readAppUsage(o: Record<string, unknown>): ZoomAppUsage | undefined {
  if (o.enable_metrics === false || o.enable_metrics === 'false') return undefined;
  const usage: ZoomAppUsage = {};
  const set = <K extends keyof ZoomAppUsage>(k: K, v: ZoomAppUsage[K] | undefined) => {
    if (v !== undefined) usage[k] = v;
  };
  set('firstUsed', readUsageTime(o.first_used));
  set('lastUsed', readUsageTime(o.last_used));
  set('activeUsers', readCount(o.active_users));
  set('totalCalls', readCount(o.total_calls));
  set('failedCalls', readCount(o.failed_calls));
  set('connections', readCount(o.connections));
  set('adds', readCount(o.adds));
  const days = readCount(o.duration);
  if (days !== undefined && days > 0) usage.durationDays = days;
  if (Array.isArray(o.works_with)) {
    const products = o.works_with.filter((w): w is string => typeof w === 'string' && w.trim() !== '').slice(0, 20).map((w) => w.slice(0, 60));
    if (products.length) usage.worksWith = products;
  }
  // The fields that say whether the app was used: without one of them the rest cannot steer a poll.
  if (usage.lastUsed === undefined && usage.totalCalls === undefined) return undefined;
  return usage;
}

/** Get app: every field is optional in Zoom's schema; without `app_id`, it is the app asked for. */
function readAppInfo(raw: unknown, askedFor: string): ZoomAppInfo | null {
  const o = asObject(raw);
  if (!o) return null;
  const app: ZoomAppInfo = { app_id: nonEmpty(o.app_id) ? o.app_id : askedFor, app_name: typeof o.app_name === 'string' ? o.app_name : '' };
  if (typeof o.app_type === 'string') app.app_type = o.app_type;
  if (typeof o.app_status === 'string') app.app_status = o.app_status;
  if (typeof o.app_description === 'string') app.app_description = o.app_description;
  return app;
}

/**
 * Below this, a `time` is taken as epoch seconds (ms). 1e11 ms is March 1973 and 1e11 s is the
 * year 5138: no real call-log time is ambiguous.
 */
const SECONDS_BELOW = 1e11;

/**
 * One call-log entry, normalised (time as epoch-ms digits, method upper-case), or null if its time
 * cannot be read. `trace_id`, `method`, `url_pattern` and `http_status` are all optional in Zoom's
 * schema (failed calls may lack exactly those): an entry without them is still a call.
 */
function readCallLog(raw: unknown): ZoomCallLog | null {
  const o = asObject(raw);
  if (!o) return null;
  const timeText = typeof o.time === 'number' ? String(o.time) : typeof o.time === 'string' ? o.time.trim() : '';
  if (!/^\d{1,15}(\.\d{1,6})?$/.test(timeText) || Number(timeText) <= 0) return null;
  const asNumber = Number(timeText);
  const ms = Math.round(asNumber < SECONDS_BELOW ? asNumber * 1000 : asNumber);
  const entry: ZoomCallLog = { time: String(ms) };
  const status = typeof o.http_status === 'string' && /^\d{3}$/.test(o.http_status) ? Number(o.http_status) : o.http_status;
  if (typeof status === 'number' && Number.isInteger(status) && status >= 100 && status <= 599) entry.http_status = status;
  if (nonEmpty(o.url_pattern)) entry.url_pattern = o.url_pattern;
  if (nonEmpty(o.method)) entry.method = o.method.trim().toUpperCase();
  if (nonEmpty(o.trace_id)) entry.trace_id = o.trace_id;
  return entry;
}
