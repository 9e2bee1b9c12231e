/**
 * Server-to-Server OAuth access tokens, one per Zoom account, shared by every process (SPEC §3).
 *
 * The token lives in Redis (`zoomtoken:<account>`, a hash of `token` and `refreshAt`) so web and
 * worker processes use the same one: older Zoom behaviour invalidated the previous token whenever
 * a new one was fetched, so fetching per process or per request makes processes knock each other
 * out. Fetches are single-flight twice over: callers in one process share one promise, and
 * across processes a Redis lock (`SET NX PX`) lets one fetch while the others wait and re-read
 * the cache.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ZoomAccount } from '../../config';
import type { Logger } from '../../log';
import type { Keys } from '../redis/keys';
import { TOKEN_ENDPOINT, ZoomError, errorFromResponse, readErrorBody } from './errors';
import type { Clock } from '../../kernel/clock';
import { createTokenStore } from './stores/tokenCache';

/** An HTTP answer, body unparsed. */
export interface RawAnswer {
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string>;
  text: string;
}

export interface TokenCache {
  /** A token with at least the refresh margin left; fetches one when needed. */
  get(): Promise<string>;
  /**
   * Drops the cached token if it is still `badToken` (compare-and-delete), so a burst of 401s
   * answered with the same token leads to one refetch, and a token another caller already
   * replaced is kept.
   */
  invalidate(badToken: string): Promise<void>;
  /** Token requests this process sent to Zoom. */
  fetches(): number;
  /**
   * The API base the token answer's `api_url` names (with `/v2`), as of the token `get` returned
   * last; undefined when Zoom gave none, or one outside Zoom's hosts (and the OAuth URL's origin).
   */
  apiUrl(): string | undefined;
}

/** Zoom's API hosts: the global one, regional ones (`api-eu.zoom.us`…) and the government cloud. */
const ZOOM_API_HOST = /^(?:[a-z0-9-]+\.)*(?:zoom\.us|zoomgov\.com)$/i;

/**
 * The API base from a token answer's `api_url`, or undefined when it is not one to send a bearer
 * token to: https on a Zoom host, or the origin of the configured token endpoint (a test fake).
 */
export function apiBaseFromTokenAnswer(apiUrl: unknown, oauthUrl: string): string | undefined {
  if (typeof apiUrl !== 'string' || apiUrl.length > 200) return undefined;
  let u: URL;
  try {
    u = new URL(apiUrl);
  } catch {
    return undefined;
  }
  if (u.username || u.password || u.search || u.hash) return undefined;
  const sameOrigin = (() => {
    try {
      return new URL(oauthUrl).origin === u.origin;
    } catch {
      return false;
    }
  })();
  if (!sameOrigin && !(u.protocol === 'https:' && ZOOM_API_HOST.test(u.hostname))) return undefined;
  const path = u.pathname.replace(/\/+$/, '');
  return `${u.origin}${path === '' ? '/v2' : path}`;
}

export interface TokenCacheOptions {
  account: ZoomAccount;
  oauthUrl: string;
  redis: Redis;
  keys: Keys;
  log: Logger;
  clock: Clock;
  /** Registers a fetched token with the log scrubber before anything else sees it. */
  addSecret(token: string): void;
  /**
   * Sends the token request; resolves with any HTTP answer, rejects with a ZoomError of kind
   * 'network' or 'timeout' when there is none.
   */
  post(url: string, form: string, authorization: string): Promise<RawAnswer>;
  /** Upper bound of one token request (ms); the cross-process lock lives a little longer. */
  timeoutMs: number;
}

/** Refetch this long before Zoom's expiry (ms), so no request goes out with a dying token. */
export const REFRESH_MARGIN_MS = 5 * 60_000;
/** How often a process waiting on another's fetch re-reads the cache (ms, real time). */
const LOCK_POLL_MS = 50;

export function createTokenCache(opts: TokenCacheOptions): TokenCache {
  const { account, clock } = opts;
  const store = createTokenStore(opts.redis, opts.keys, account.name);
  const lockTtlMs = opts.timeoutMs + 5_000;
  const log = opts.log.child({ zoomAccount: account.name });
  let fetchCount = 0;
  let inflight: Promise<string> | null = null;
  let lastApiUrl: string | undefined;

  async function readCached(): Promise<string | null> {
    const cached = await store.read();
    if (!cached) return null;
    if (cached.refreshAt <= clock()) return null;
    lastApiUrl = cached.apiUrl || undefined;
    return cached.token;
  }

  async function fetchAndStore(): Promise<string> {
    fetchCount += 1;
    const form = new URLSearchParams({ grant_type: 'account_credentials', account_id: account.accountId }).toString();
    const basic = Buffer.from(`${account.clientId}:${account.clientSecret}`, 'utf8').toString('base64');
    const answer = await opts.post(opts.oauthUrl, form, `Basic ${basic}`);
    const { token, expiresInS, apiUrl: rawApiUrl } = readTokenAnswer(account.name, answer);
    opts.addSecret(token);
    const apiUrl = apiBaseFromTokenAnswer(rawApiUrl, opts.oauthUrl);
    if (rawApiUrl !== undefined && apiUrl === undefined) log.warn('zoom token answer names an api_url outside Zoom; ignored');
    lastApiUrl = apiUrl;
    const lifetimeMs = expiresInS * 1000;
    // Short-lived tokens (tests, odd configurations) still get half their life before a refetch.
    const refreshAt = clock() + Math.max(lifetimeMs - REFRESH_MARGIN_MS, lifetimeMs / 2);
    await store.write(token, refreshAt, apiUrl ?? '', lifetimeMs);
    log.info({ expiresInS }, 'zoom access token fetched');
    return token;
  }

  async function acquire(): Promise<string> {
    // Wall-clock deadline on purpose: it bounds real waiting on another process, and the
    // injected clock may be frozen in tests.
    const deadline = Date.now() + lockTtlMs + opts.timeoutMs;
    for (;;) {
      const cached = await readCached();
      if (cached) return cached;
      const lockValue = randomBytes(12).toString('hex');
      if (await store.lock(lockValue, lockTtlMs)) {
        try {
          // Another process may have stored a token between our read and the lock.
          return (await readCached()) ?? (await fetchAndStore());
        } finally {
          await store.unlock(lockValue).catch(() => undefined);
        }
      }
      if (Date.now() > deadline) {
        throw new ZoomError({ kind: 'timeout', account: account.name, endpoint: TOKEN_ENDPOINT, zoomMessage: 'waited too long for another process to fetch a token' });
      }
      await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
    }
  }

  return {
    async get() {
      const cached = await readCached();
      if (cached) return cached;
      if (!inflight) {
        inflight = acquire().finally(() => {
          inflight = null;
        });
      }
      return inflight;
    },
    async invalidate(badToken: string) {
      if (await store.dropIf(badToken)) log.info('zoom access token rejected; dropped from the cache');
    },
    fetches: () => fetchCount,
    apiUrl: () => lastApiUrl,
  };
}

/** Reads Zoom's token answer; maps refusals to ZoomError (never echoing the request). */
function readTokenAnswer(accountName: string, answer: RawAnswer): { token: string; expiresInS: number; apiUrl?: unknown } {
  let body: unknown;
  try {
    body = answer.text ? JSON.parse(answer.text) : undefined;
  } catch {
    body = undefined;
  }
  const ctx = { account: accountName, endpoint: TOKEN_ENDPOINT, status: answer.status };
  if (answer.status >= 200 && answer.status < 300) {
    const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const token = b.access_token;
    const expiresIn = typeof b.expires_in === 'string' ? Number(b.expires_in) : b.expires_in;
    if (typeof token !== 'string' || token.length < 8 || typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0) {
      throw new ZoomError({ ...ctx, kind: 'malformed', zoomMessage: 'token answer without access_token or expires_in' });
    }
    // `api_url` (Zoom's regional host): used when the account's API base was not configured.
    return { token, expiresInS: expiresIn, ...(b.api_url !== undefined ? { apiUrl: b.api_url } : {}) };
  }
  if (answer.status === 400 || answer.status === 401 || answer.status === 403) {
    const { message } = readErrorBody(body);
    throw new ZoomError({ ...ctx, kind: 'auth', ...(message !== undefined ? { zoomMessage: message } : {}) });
  }
  throw errorFromResponse({ ...ctx, body });
}
