/**
 * `GET /audit` (SPEC §5.4): the audit log as JSON lines (default) or CSV, for auditors and SIEM
 * imports. Shaped as a Bolt `customRoutes` entry; main.ts registers it only when AUDIT_TOKEN is set.
 *
 * Query (all optional, each at most once; anything else is a 400):
 *   format=jsonl|csv   jsonl → application/x-ndjson, one entry per line; csv → RFC 4180 with a header
 *   app=<appId>        only entries about that Zoom app
 *   since=<ISO|ms>     only entries at or after that time
 *   limit=<n>          at most n entries (1…100000, default 100000)
 * Entries come oldest first, so a long log is paged by passing the last `at` seen as `since`.
 * Output is streamed batch by batch with backpressure; a client that disconnects stops the scan.
 * Every entry carries what an offline check needs: `prev`, `hash`, and how it was chained
 * (`chain`: sha256 or hmac-sha256, with the key's id; empty for entries older than the field).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../log';
import type { AuditEntry } from './chain';
import type { AuditLog } from './stores/audit';

export const AUDIT_EXPORT_MAX = 100_000;
/** Entries read from Redis per round trip while exporting. */
const EXPORT_BATCH = 500;
/** Bytes gathered before one `res.write`, so we neither write per line nor hold the whole export. */
const CHUNK_BYTES = 64 * 1024;

const APP_ID = /^[A-Za-z0-9_-]{1,128}$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/;
const KNOWN_PARAMS = new Set(['format', 'app', 'since', 'limit']);

export const CSV_COLUMNS = ['id', 'at', 'type', 'actor', 'app_id', 'account', 'request_id', 'summary', 'details', 'prev', 'hash', 'chain', 'key_id'] as const;

type Format = 'jsonl' | 'csv';

interface ExportQuery {
  format: Format;
  appId?: string;
  sinceMs?: number;
  limit: number;
}

export interface AuditRoute {
  path: '/audit';
  method: ['GET'];
  handler(req: IncomingMessage & { params?: Record<string, string> }, res: ServerResponse): void;
}

/** Returns the parsed query, or a one-line reason for a 400. */
export function parseAuditQuery(rawUrl: string | undefined): ExportQuery | string {
  const url = new URL(rawUrl ?? '/', 'http://localhost');
  const seen = new Set<string>();
  for (const name of url.searchParams.keys()) {
    if (!KNOWN_PARAMS.has(name)) return `unknown query parameter "${clip(name)}"; expected format, app, since or limit`;
    if (seen.has(name)) return `query parameter "${name}" given more than once`;
    seen.add(name);
  }
  const q = url.searchParams;
  const format = q.get('format') ?? 'jsonl';
  if (format !== 'jsonl' && format !== 'csv') return 'format must be jsonl or csv';
  const query: ExportQuery = { format, limit: AUDIT_EXPORT_MAX };

  const app = q.get('app');
  if (app !== null) {
    if (!APP_ID.test(app)) return 'app must be a Zoom app id (letters, digits, "_" or "-")';
    query.appId = app;
  }

  const since = q.get('since');
  if (since !== null) {
    let ms: number;
    if (/^\d{1,15}$/.test(since)) ms = Number(since);
    else if (ISO_DATE.test(since)) ms = Date.parse(since);
    else return 'since must be an ISO 8601 time (2024-05-01T00:00:00Z) or epoch milliseconds';
    if (!Number.isFinite(ms)) return 'since is not a valid time';
    query.sinceMs = ms;
  }

  const limit = q.get('limit');
  if (limit !== null) {
    if (!/^\d{1,6}$/.test(limit) || Number(limit) < 1 || Number(limit) > AUDIT_EXPORT_MAX) {
      return `limit must be a whole number from 1 to ${AUDIT_EXPORT_MAX}`;
    }
    query.limit = Number(limit);
  }
  return query;
}

/** One JSON line; fields in a fixed order so exports diff cleanly. */
export function toJsonLine(e: AuditEntry): string {
  return `${JSON.stringify({
    id: e.id,
    at: e.at,
    type: e.type,
    actor: e.actor,
    appId: e.appId,
    account: e.account,
    requestId: e.requestId,
    summary: e.summary,
    details: e.details,
    prev: e.prev,
    hash: e.hash,
    chain: e.chain,
    keyId: e.keyId,
  })}\n`;
}

/**
 * One CSV cell: neutralises spreadsheet formulas (OWASP: a leading =, +, -, @, tab or CR gets a
 * single quote) and quotes per RFC 4180 when the cell holds a comma, quote or line break.
 */
export function csvCell(value: string | number | undefined): string {
  let text = value === undefined ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsvRow(e: AuditEntry): string {
  const at = Number.isFinite(e.at) ? new Date(e.at).toISOString() : '';
  const details = e.details === undefined ? undefined : JSON.stringify(e.details);
  return `${[e.id, at, e.type, e.actor, e.appId, e.account, e.requestId, e.summary, details, e.prev, e.hash, e.chain, e.keyId].map(csvCell).join(',')}\r\n`;
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function tokenMatches(header: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? '');
  if (!match) return false;
  // Compare fixed-length digests so neither the content nor the length of the token leaks
  // through timing.
  const given = createHash('sha256').update(match[1]!).digest();
  return timingSafeEqual(given, expected);
}

function plain(res: ServerResponse, status: number, line: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...headers });
  res.end(`${line}\n`);
}

export function createAuditRoute(deps: { audit: AuditLog; token: string; log: Logger }): AuditRoute {
  const { audit, log } = deps;
  if (!deps.token) throw new Error('createAuditRoute needs a non-empty token');
  const expected = createHash('sha256').update(deps.token).digest();

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    if (req.method !== 'GET') return plain(res, 405, 'method not allowed', { Allow: 'GET' });
    if (!tokenMatches(req.headers.authorization, expected)) {
      log.info({ remote: req.socket.remoteAddress }, 'audit export refused: missing or wrong bearer token');
      return plain(res, 401, 'unauthorized', { 'WWW-Authenticate': 'Bearer' });
    }
    const query = parseAuditQuery(req.url);
    if (typeof query === 'string') return plain(res, 400, query);

    let closed = false;
    let wakeDrain: (() => void) | undefined;
    res.on('close', () => {
      closed = true;
      wakeDrain?.();
    });

    const entries = audit.iterate(EXPORT_BATCH, query.sinceMs)[Symbol.asyncIterator]();
    let count = 0;
    let outcome = 'complete';
    try {
      // Read the first batch before sending headers, so a Redis failure is still a clean 500.
      let next = await entries.next();
      res.writeHead(200, {
        'Content-Type': query.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
        ...(query.format === 'csv' ? { 'Content-Disposition': 'attachment; filename="audit.csv"' } : {}),
      });
      let chunk = query.format === 'csv' ? `${CSV_COLUMNS.join(',')}\r\n` : '';
      const flush = async () => {
        if (chunk === '' || closed) return;
        const ok = res.write(chunk);
        chunk = '';
        if (!ok && !closed) await new Promise<void>((resolve) => (wakeDrain = resolve)).finally(() => (wakeDrain = undefined));
      };
      res.on('drain', () => wakeDrain?.());
      while (!next.done && count < query.limit && !closed) {
        const entry = next.value;
        if (query.appId === undefined || entry.appId === query.appId) {
          chunk += query.format === 'csv' ? toCsvRow(entry) : toJsonLine(entry);
          count += 1;
          if (chunk.length >= CHUNK_BYTES) await flush();
        }
        if (count < query.limit && !closed) next = await entries.next();
      }
      await flush();
      if (closed) outcome = 'client disconnected';
      else res.end();
    } catch (err) {
      outcome = 'failed';
      log.error({ err }, 'audit export failed');
      if (!res.headersSent) plain(res, 500, 'internal error');
      // Mid-stream: cut the connection so the client sees a broken transfer, not a short export.
      else res.destroy();
    } finally {
      await entries.return?.().catch(() => undefined);
      log.info({ format: query.format, app: query.appId, count, ms: Date.now() - started, outcome }, 'audit export finished');
    }
    return undefined;
  }

  return {
    path: '/audit',
    method: ['GET'],
    handler(req, res) {
      serve(req, res).catch((err: unknown) => {
        // Only reachable if logging or writing the error response itself failed.
        try {
          log.error({ err }, 'audit route failed');
          if (!res.headersSent) plain(res, 500, 'internal error');
          else res.destroy();
        } catch {
          res.destroy();
        }
      });
    },
  };
}
