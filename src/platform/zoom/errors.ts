/**
 * Typed Zoom errors and the one table that maps Zoom's answers to them (SPEC §3).
 *
 * `message` is for logs: account, endpoint template, HTTP status, Zoom's code and (clipped)
 * message. `explain()` is the sentence a person reads in Slack. Neither ever holds a token or a
 * client secret: errors are built from statuses and Zoom's `{code, message}` bodies only, never
 * from transport error objects (axios errors carry the Authorization header).
 */

export type ZoomErrorKind =
  | 'auth'
  | 'scope'
  | 'not_found'
  | 'rate_limited'
  | 'paused'
  | 'server'
  | 'network'
  | 'timeout'
  | 'client'
  | 'malformed';

/** Zoom's error codes this project reacts to. */
export const ZOOM_CODES = {
  invalidAccessToken: 124,
  missingScopes: 4700,
  /** Marketplace endpoints answer 201 "Invalid access token, does not contain scopes:[…]". */
  missingScopesMarketplace: 201,
  /** HTTP 400 "Invalid access token, does not contain scopes: […]" (seen live on Marketplace endpoints). */
  missingScopesInvalidToken: 4711,
  invalidPageSize: 300,
  invalidNextPageToken: 301,
  appNotFound: 1401,
  /** HTTP 400 "Internal server error, please try again" (list apps): a server error, retried like a 5xx. */
  internalErrorRetry: 1505,
} as const;

export interface ZoomErrorDetails {
  kind: ZoomErrorKind;
  /** Account name (config), never its id or credentials. */
  account: string;
  /** Endpoint template, e.g. `GET /marketplace/apps/{appId}`, or `POST /oauth/token`. */
  endpoint?: string;
  status?: number;
  code?: number;
  /** Zoom's own message (or OAuth `reason`), clipped. */
  zoomMessage?: string;
  /** For kind 'scope': the scopes Zoom says are missing (or the one the endpoint needs). */
  scopes?: string[];
  /** Transport error code such as ECONNREFUSED, for kind 'network'. */
  cause?: string;
  /** Overrides the kind's default. */
  retryable?: boolean;
  /** Attempts made before giving up, when more than one. */
  attempts?: number;
}

/** Whether trying the same call again soon (with backoff) can help. */
const RETRYABLE: Record<ZoomErrorKind, boolean> = {
  auth: false,
  scope: false,
  not_found: false,
  rate_limited: true,
  // Not before `until`: the caller must wait for the pause to end, not retry.
  paused: false,
  server: true,
  network: true,
  timeout: true,
  client: false,
  malformed: false,
};

const MAX_ZOOM_MESSAGE = 200;

export class ZoomError extends Error {
  readonly kind: ZoomErrorKind;
  readonly account: string;
  readonly endpoint?: string;
  readonly status?: number;
  readonly code?: number;
  readonly zoomMessage?: string;
  readonly scopes?: string[];
  readonly retryable: boolean;
  readonly attempts?: number;
  readonly causeCode?: string;

  constructor(details: ZoomErrorDetails) {
    super(logMessage(details));
    this.name = 'ZoomError';
    this.kind = details.kind;
    this.account = details.account;
    this.retryable = details.retryable ?? RETRYABLE[details.kind];
    if (details.endpoint !== undefined) this.endpoint = details.endpoint;
    if (details.status !== undefined) this.status = details.status;
    if (details.code !== undefined) this.code = details.code;
    if (details.zoomMessage !== undefined) this.zoomMessage = clip(details.zoomMessage);
    if (details.scopes !== undefined) this.scopes = details.scopes;
    if (details.attempts !== undefined) this.attempts = details.attempts;
    if (details.cause !== undefined) this.causeCode = details.cause;
  }

  /** One sentence for a person (Slack), lower-case start so it reads after "Polling failed: ". */
  explain(): string {
    const acct = `account ${this.account}`;
    const zoomSaid = this.zoomMessage ? ` (${this.zoomMessage})` : '';
    switch (this.kind) {
      case 'auth':
        return this.endpoint === TOKEN_ENDPOINT
          ? `Zoom refused the credentials for ${acct}${this.zoomMessage ? ` (${this.zoomMessage})` : ' (invalid client ID or secret?)'}`
          : `Zoom rejected a freshly fetched access token for ${acct} (is the Server-to-Server OAuth app deactivated?)`;
      case 'scope':
        return this.scopes?.length
          ? `the Zoom app for ${acct} lacks scope ${this.scopes.join(', ')}`
          : `the Zoom app for ${acct} is not allowed to call ${this.endpoint ?? 'this endpoint'}${zoomSaid}`;
      case 'not_found':
        return this.code === ZOOM_CODES.appNotFound
          ? `Zoom says the app does not exist in ${acct}`
          : `Zoom answered "not found" for ${this.endpoint ?? 'a request'} on ${acct} (is the API URL right?)`;
      case 'rate_limited':
        return `Zoom kept rate-limiting ${acct} (per-second limit); the next try will pick up where this one stopped`;
      case 'paused':
        // ZoomPausedError overrides this; kept for completeness of the table.
        return `Zoom's daily API limit for ${acct} is used up`;
      case 'server':
        return `Zoom had a server error (HTTP ${this.status ?? '5xx'}) on ${acct}${this.attempts ? ` after ${this.attempts} attempts` : ''}`;
      case 'network':
        return `could not reach Zoom for ${acct}${this.causeCode ? ` (${this.causeCode})` : ''}`;
      case 'timeout':
        return `Zoom did not answer in time for ${acct}${this.attempts ? ` (${this.attempts} attempts)` : ''}`;
      case 'client':
        if (this.code === ZOOM_CODES.invalidNextPageToken) return `Zoom's page token expired while reading call logs for ${acct}`;
        return `Zoom refused the request on ${acct}: HTTP ${this.status ?? '?'}${this.code !== undefined ? ` code ${this.code}` : ''}${zoomSaid}`;
      case 'malformed':
        return `Zoom sent an answer this bot cannot read for ${acct}${zoomSaid}`;
    }
  }
}

/** Daily limit reached: nothing may be sent for this account before `until`. */
export class ZoomPausedError extends ZoomError {
  /** Epoch ms when calls may resume (Zoom's Retry-After). */
  readonly until: number;

  constructor(details: { account: string; until: number; endpoint?: string; status?: number; code?: number }) {
    super({ ...details, kind: 'paused', zoomMessage: `paused until ${new Date(details.until).toISOString()}` });
    this.name = 'ZoomPausedError';
    this.until = details.until;
  }

  override explain(): string {
    return `Zoom's daily API limit for account ${this.account} is used up; calls resume at ${formatUtc(this.until)}`;
  }
}

/** Endpoint label of the OAuth token request, in metrics and errors. */
export const TOKEN_ENDPOINT = 'POST /oauth/token';

/**
 * A transport failure (no HTTP answer). Takes the error's `code` string only: the error object
 * itself holds the request config, Authorization header included.
 */
export function errorFromTransport(ctx: {
  account: string;
  endpoint: string;
  code: string | undefined;
  timedOut: boolean;
  attempts?: number;
}): ZoomError {
  const timedOut = ctx.timedOut || ctx.code === 'ETIMEDOUT' || ctx.code === 'ECONNABORTED';
  return new ZoomError({
    kind: timedOut ? 'timeout' : 'network',
    account: ctx.account,
    endpoint: ctx.endpoint,
    ...(ctx.code !== undefined && /^[A-Z0-9_]{2,40}$/.test(ctx.code) ? { cause: ctx.code } : {}),
    ...(ctx.attempts !== undefined ? { attempts: ctx.attempts } : {}),
  });
}

/** Zoom's error body, as far as it can be read. */
export interface ZoomErrorBody {
  code?: number;
  message?: string;
}

export function readErrorBody(body: unknown): ZoomErrorBody {
  if (typeof body !== 'object' || body === null) return {};
  const b = body as Record<string, unknown>;
  const out: ZoomErrorBody = {};
  const code = typeof b.code === 'number' ? b.code : typeof b.code === 'string' && /^\d+$/.test(b.code) ? Number(b.code) : undefined;
  if (code !== undefined) out.code = code;
  // OAuth endpoints answer {reason, error}; the API answers {code, message}.
  const message = typeof b.message === 'string' ? b.message : typeof b.reason === 'string' ? b.reason : undefined;
  if (message !== undefined) out.message = message;
  return out;
}

/**
 * The translation table for a final (non-retried) HTTP answer that is not a success.
 * 401 → auth, scope messages (403 / 4700 / 201 / 4711 / 401 naming scopes) → scope, 404 → not_found,
 * 429 → rate_limited, 5xx and 400/1505 → server, anything else → client.
 */
export function errorFromResponse(ctx: {
  account: string;
  endpoint: string;
  status: number;
  body: unknown;
  /** The scope the endpoint needs, named when Zoom's message does not say which one. */
  requiredScope?: string;
  attempts?: number;
}): ZoomError {
  const { code, message } = readErrorBody(ctx.body);
  const base = {
    account: ctx.account,
    endpoint: ctx.endpoint,
    status: ctx.status,
    ...(code !== undefined ? { code } : {}),
    ...(message !== undefined ? { zoomMessage: message } : {}),
    ...(ctx.attempts !== undefined ? { attempts: ctx.attempts } : {}),
  };
  if (isScopeError(ctx.status, code, message)) {
    const named = scopesFromMessage(message);
    const scopes = named.length ? named : ctx.requiredScope ? [ctx.requiredScope] : [];
    return new ZoomError({ ...base, kind: 'scope', scopes });
  }
  if (ctx.status === 401) return new ZoomError({ ...base, kind: 'auth' });
  if (ctx.status === 404) return new ZoomError({ ...base, kind: 'not_found' });
  if (ctx.status === 429) return new ZoomError({ ...base, kind: 'rate_limited' });
  if (ctx.status >= 500 || isRetryableServerCode(ctx.status, code)) return new ZoomError({ ...base, kind: 'server' });
  return new ZoomError({ ...base, kind: 'client' });
}

/** A 4xx that Zoom documents as its own internal error, to be tried again (400 code 1505). */
export function isRetryableServerCode(status: number, code: number | undefined): boolean {
  return status === 400 && code === ZOOM_CODES.internalErrorRetry;
}

function isScopeError(status: number, code: number | undefined, message: string | undefined): boolean {
  const aboutScopes = message !== undefined && /scope/i.test(message);
  if (code === ZOOM_CODES.missingScopesInvalidToken) return true;
  if (code === ZOOM_CODES.missingScopes || code === ZOOM_CODES.missingScopesMarketplace) return aboutScopes || status === 403;
  return (status === 403 || status === 401 || status === 400) && aboutScopes;
}

/** "Invalid access token, does not contain scopes:[a:b:c, d:e]." → ['a:b:c', 'd:e']. */
export function scopesFromMessage(message: string | undefined): string[] {
  if (!message) return [];
  const m = /scopes?\s*:?\s*\[([^\]]*)\]/i.exec(message);
  if (!m?.[1]) return [];
  return m[1]
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => /^[A-Za-z0-9_:.-]{1,120}$/.test(s));
}

function logMessage(d: ZoomErrorDetails): string {
  const parts = [`zoom ${d.kind}`, `account=${d.account}`];
  if (d.endpoint) parts.push(`endpoint="${d.endpoint}"`);
  if (d.status !== undefined) parts.push(`status=${d.status}`);
  if (d.code !== undefined) parts.push(`code=${d.code}`);
  if (d.cause) parts.push(`cause=${d.cause}`);
  if (d.attempts !== undefined) parts.push(`attempts=${d.attempts}`);
  if (d.scopes?.length) parts.push(`scopes=${d.scopes.join(',')}`);
  if (d.zoomMessage) parts.push(`zoom_message="${clip(d.zoomMessage)}"`);
  return parts.join(' ');
}

function clip(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_ZOOM_MESSAGE ? `${flat.slice(0, MAX_ZOOM_MESSAGE - 3)}...` : flat;
}

function formatUtc(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
