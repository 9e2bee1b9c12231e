/**
 * The only reader of `process.env`. Every variable of the contract (SPEC §7) is parsed, defaulted
 * and validated here, once; every problem is collected so start-up fails with one message that
 * names each bad variable and what it expects. Secret values never appear in that message.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as nodeUtil from 'node:util';
import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { parseDuration } from './kernel/duration';

export type Role = 'all' | 'web' | 'worker';
export type ActionsMode = 'dry-run' | 'live';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface ZoomAccount {
  /** Short name used in messages, keys and `ZOOM_APP_IDS` (`name:appId`). */
  name: string;
  accountId: string;
  clientId: string;
  clientSecret: string;
  /** Base API URL for this account, e.g. `https://api.zoom.us/v2`. */
  apiUrl: string;
  /**
   * Set when neither ZOOM_API_URL nor the account's `apiUrl` chose the base: the `api_url` of
   * Zoom's token answer (regional and government clouds) then wins over `apiUrl`.
   */
  apiUrlDefault?: true;
}

export interface TrackedAppSeed {
  account: string;
  appId: string;
}

export interface Config {
  slack: {
    botToken: string;
    signingSecret: string;
    appToken?: string;
    apiUrl: string;
    /**
     * Origins a `response_url` may point at (SPEC §5.6): Slack's two hook hosts, plus the origin
     * of SLACK_API_URL when it is set (a fake Slack in tests and the sandbox).
     */
    responseOrigins: string[];
  };
  /** `clusterNodes` set → Redis Cluster (REDIS_URL then only supplies credentials and TLS). */
  redis: { url: string; prefix: string; clusterNodes?: Array<{ host: string; port: number }> };
  zoom: {
    accounts: ZoomAccount[];
    oauthUrl: string;
    appIds: TrackedAppSeed[];
  };
  approvers: string[];
  /** Who may change what is watched (SPEC §5.5): ADMINS, or the approvers when it is unset. */
  admins: string[];
  approvalsChannel: string;
  digestChannel: string;
  requiredApprovals: number;
  /** Milliseconds. */
  approvalTtlMs: number;
  soakPeriodMs: number;
  /** 0 turns scheduled polling off (manual `/zoomjwt poll` still works). */
  pollEveryMs: number;
  digestCron: string;
  digestTz: string;
  actionsMode: ActionsMode;
  auditToken?: string;
  /** AUDIT_KEY: the audit chain is HMAC-SHA256 under it (secret, at least 32 characters). */
  auditKey?: string;
  logLevel: LogLevel;
  port: number;
  role: Role;
}

export class ConfigError extends Error {
  readonly code = 'config_invalid';
  constructor(readonly problems: string[]) {
    super(
      `zoomjwt cannot start: ${problems.length} configuration problem${problems.length === 1 ? '' : 's'}\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Where Slack's response URLs live (commercial and GovSlack). */
export const SLACK_RESPONSE_ORIGINS = ['https://hooks.slack.com', 'https://hooks.slack-gov.com'] as const;

const SLACK_CHANNEL = /^[CGD][A-Z0-9]{2,}$/;
const SLACK_APPROVER = /^[UWS][A-Z0-9]{2,}$/;
const ZOOM_ID = /^[A-Za-z0-9_-]{1,128}$/;

const accountSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,40}$/, 'letters, digits, "_", "." or "-", at most 40'),
  accountId: z.string().min(1).max(128),
  clientId: z.string().min(1).max(256),
  clientSecret: z.string().min(1).max(512),
  apiUrl: z.url({ protocol: /^https?$/ }).optional(),
});

/** Reads and validates the whole configuration; throws ConfigError listing every problem. */
export function loadConfig(env: Env = process.env, readFile = (p: string) => readFileSync(p, 'utf8')): Config {
  const problems: string[] = [];
  // An empty value counts as unset.
  const get = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const bad = (name: string, expected: string, shown?: string) =>
    problems.push(shown === undefined ? `${name}: ${expected}` : `${name}: got "${clip(shown)}"; ${expected}`);

  const required = (name: string, expected: string, test: (v: string) => boolean, secret = false): string => {
    const v = get(name);
    if (v === undefined) {
      bad(name, `required; ${expected}`);
      return '';
    }
    if (!test(v)) bad(name, expected, secret ? undefined : v);
    return v;
  };
  const optional = <T>(name: string, fallback: T, expected: string, parse: (v: string) => T | undefined): T => {
    const v = get(name);
    if (v === undefined) return fallback;
    const parsed = parse(v);
    if (parsed === undefined) {
      bad(name, expected, v);
      return fallback;
    }
    return parsed;
  };
  const url = (v: string, protocols: string[]): string | undefined => {
    try {
      const u = new URL(v);
      return protocols.includes(u.protocol) ? v : undefined;
    } catch {
      return undefined;
    }
  };
  const duration = (name: string, fallback: string, min: number, note: string, allowZero = false): number =>
    optional(name, parseDuration(fallback)!, `a duration like 90s, 15m, 24h or 7d${note}`, (v) => {
      const ms = parseDuration(v);
      return ms !== undefined && (ms === 0 ? allowZero : ms >= min) ? ms : undefined;
    });

  const botToken = required('SLACK_BOT_TOKEN', 'a Slack bot token starting with xoxb-', (v) => /^xoxb-\S+$/.test(v), true);
  const signingSecret = required('SLACK_SIGNING_SECRET', "the Slack app's signing secret (hex)", (v) => /^\S{8,}$/.test(v), true);
  const appToken = get('SLACK_APP_TOKEN');
  if (appToken !== undefined && !/^xapp-\S+$/.test(appToken)) bad('SLACK_APP_TOKEN', 'an app-level token starting with xapp- (or unset for HTTP mode)');
  const slackApiUrl = optional('SLACK_API_URL', 'https://slack.com/api/', 'an http(s) URL such as https://slack.com/api/', (v) =>
    url(v, ['http:', 'https:']) ? (v.endsWith('/') ? v : `${v}/`) : undefined,
  );

  const redisUrl = optional('REDIS_URL', 'redis://127.0.0.1:6379', 'a redis:// or rediss:// URL', (v) => url(v, ['redis:', 'rediss:']));
  const redisPrefix = optional('REDIS_PREFIX', 'zoomjwt', 'letters, digits, "_", "." or "-" (no braces or colons), at most 64', (v) =>
    /^[A-Za-z0-9_.-]{1,64}$/.test(v) ? v : undefined,
  );

  const clusterNodes = optional<Array<{ host: string; port: number }> | undefined>(
    'REDIS_CLUSTER_NODES',
    undefined,
    CLUSTER_NODES_EXPECTED,
    parseClusterNodes,
  );

  const zoomApiUrl = optional('ZOOM_API_URL', 'https://api.zoom.us/v2', 'an http(s) URL such as https://api.zoom.us/v2', (v) =>
    url(v, ['http:', 'https:'])?.replace(/\/+$/, ''),
  );
  const zoomOauthUrl = optional('ZOOM_OAUTH_URL', 'https://zoom.us/oauth/token', 'an http(s) URL such as https://zoom.us/oauth/token', (v) =>
    url(v, ['http:', 'https:']),
  );
  const accounts = readAccounts(get, bad, readFile, zoomApiUrl);

  const appIds: TrackedAppSeed[] = [];
  const appIdsRaw = get('ZOOM_APP_IDS');
  if (appIdsRaw !== undefined) {
    for (const item of appIdsRaw.split(',').map((s) => s.trim()).filter(Boolean)) {
      const [first, second, ...rest] = item.split(':');
      const accountName = second === undefined ? accounts[0]?.name : first;
      const appId = second === undefined ? first : second;
      if (rest.length || !appId || !ZOOM_ID.test(appId)) {
        bad('ZOOM_APP_IDS', 'comma-separated Zoom app ids, each optionally prefixed by its account name (name:appId)', item);
      } else if (second === undefined && accounts.length > 1) {
        bad('ZOOM_APP_IDS', `with several accounts each id needs its account name, e.g. ${accounts[0]?.name}:${appId}`, item);
      } else if (accountName !== undefined && accounts.length && !accounts.some((a) => a.name === accountName)) {
        bad('ZOOM_APP_IDS', `names an account that ZOOM_ACCOUNTS_FILE does not define (${accounts.map((a) => a.name).join(', ')})`, item);
      } else if (accountName !== undefined) {
        appIds.push({ account: accountName, appId });
      }
    }
  }

  const approvers = optional('APPROVERS', [] as string[], 'comma-separated Slack user ids (U…, W…) and user-group ids (S…)', (v) => {
    const ids = v.split(',').map((s) => s.trim()).filter(Boolean);
    return ids.every((id) => SLACK_APPROVER.test(id)) ? [...new Set(ids)] : undefined;
  });
  const admins = optional('ADMINS', approvers, 'comma-separated Slack user ids (U…, W…) and user-group ids (S…)', (v) => {
    const ids = v.split(',').map((s) => s.trim()).filter(Boolean);
    return ids.length > 0 && ids.every((id) => SLACK_APPROVER.test(id)) ? [...new Set(ids)] : undefined;
  });
  const digestChannel = required('DIGEST_CHANNEL', 'a Slack channel id such as C0123ABCD', (v) => SLACK_CHANNEL.test(v));
  const approvalsChannel = optional('APPROVALS_CHANNEL', digestChannel, 'a Slack channel id such as C0123ABCD', (v) =>
    SLACK_CHANNEL.test(v) ? v : undefined,
  );
  const requiredApprovals = optional('REQUIRED_APPROVALS', 2, 'a whole number from 1 to 10', (v) =>
    /^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 10 ? Number(v) : undefined,
  );
  const approvalTtlMs = duration('APPROVAL_TTL', '24h', 60_000, ', at least 1m');
  const soakPeriodMs = duration('SOAK_PERIOD', '7d', 0, ', or 0 for no soak', true);
  const pollEveryMs = duration('POLL_EVERY', '15m', 10_000, ', at least 10s, or 0 to poll only on demand', true);
  const digestTz = optional('DIGEST_TZ', 'UTC', 'an IANA time zone such as UTC or Europe/Paris', (v) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: v });
      return v;
    } catch {
      return undefined;
    }
  });
  const digestCron = optional('DIGEST_CRON', '0 9 * * *', 'a 5-field cron expression such as "0 9 * * *"', (v) => {
    if (v.split(/\s+/).length !== 5) return undefined;
    try {
      CronExpressionParser.parse(v, { tz: 'UTC' });
      return v;
    } catch {
      return undefined;
    }
  });
  const actionsMode = optional<ActionsMode>('ACTIONS_MODE', 'dry-run', 'dry-run or live', (v) =>
    v === 'dry-run' || v === 'live' ? v : undefined,
  );
  // Without approvers no request can ever be signed; in live mode that is a misconfiguration, not
  // a state to discover at the first request. Dry-run still starts, to look around.
  if (actionsMode === 'live' && approvers.length === 0 && get('APPROVERS') === undefined) {
    bad('APPROVERS', 'required when ACTIONS_MODE=live: comma-separated Slack user ids (U…, W…) and user-group ids (S…) who may approve');
  }
  const auditToken = get('AUDIT_TOKEN');
  if (auditToken !== undefined && auditToken.length < 16) bad('AUDIT_TOKEN', 'at least 16 characters (or unset to turn GET /audit off)');
  const auditKey = readAuditKey(get, bad);
  const logLevel = optional<LogLevel>('LOG_LEVEL', 'info', 'one of fatal, error, warn, info, debug, trace, silent', (v) =>
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(v) ? (v as LogLevel) : undefined,
  );
  const port = optional('PORT', 3000, 'a TCP port from 0 to 65535', (v) =>
    /^\d+$/.test(v) && Number(v) <= 65535 ? Number(v) : undefined,
  );
  const role = optional<Role>('ROLE', 'all', 'all, web or worker', (v) =>
    v === 'all' || v === 'web' || v === 'worker' ? v : undefined,
  );

  if (problems.length) throw new ConfigError(problems);
  return {
    slack: {
      botToken, signingSecret, ...(appToken ? { appToken } : {}), apiUrl: slackApiUrl,
      responseOrigins: [...SLACK_RESPONSE_ORIGINS, ...(get('SLACK_API_URL') !== undefined ? [new URL(slackApiUrl).origin] : [])],
    },
    redis: { url: redisUrl, prefix: redisPrefix, ...(clusterNodes ? { clusterNodes } : {}) },
    zoom: { accounts, oauthUrl: zoomOauthUrl, appIds },
    approvers,
    admins,
    approvalsChannel,
    digestChannel,
    requiredApprovals,
    approvalTtlMs,
    soakPeriodMs,
    pollEveryMs,
    digestCron,
    digestTz,
    actionsMode,
    ...(auditToken ? { auditToken } : {}),
    ...(auditKey ? { auditKey } : {}),
    logLevel,
    port,
    role,
  };
}

function readAccounts(
  get: (name: string) => string | undefined,
  bad: (name: string, expected: string, shown?: string) => void,
  readFile: (path: string) => string,
  defaultApiUrl: string,
): ZoomAccount[] {
  const file = get('ZOOM_ACCOUNTS_FILE');
  const apiUrlSet = get('ZOOM_API_URL') !== undefined;
  const single = {
    accountId: get('ZOOM_ACCOUNT_ID'),
    clientId: get('ZOOM_CLIENT_ID'),
    clientSecret: get('ZOOM_CLIENT_SECRET'),
  };
  const singleSet = Object.values(single).some((v) => v !== undefined);
  if (file !== undefined && singleSet) {
    bad('ZOOM_ACCOUNTS_FILE', 'set either ZOOM_ACCOUNTS_FILE or ZOOM_ACCOUNT_ID/ZOOM_CLIENT_ID/ZOOM_CLIENT_SECRET, not both');
    return [];
  }
  if (file === undefined) {
    const expectations = {
      accountId: ['ZOOM_ACCOUNT_ID', 'the Account ID of your Server-to-Server OAuth app'],
      clientId: ['ZOOM_CLIENT_ID', 'the Client ID of your Server-to-Server OAuth app'],
      clientSecret: ['ZOOM_CLIENT_SECRET', 'the Client secret of your Server-to-Server OAuth app'],
    } as const;
    let ok = true;
    for (const [field, [name, what]] of Object.entries(expectations)) {
      if (single[field as keyof typeof single] === undefined) {
        bad(name, `required (or ZOOM_ACCOUNTS_FILE); ${what}`);
        ok = false;
      }
    }
    return ok ? [{ name: 'default', apiUrl: defaultApiUrl, ...(apiUrlSet ? {} : { apiUrlDefault: true as const }), ...(single as Omit<ZoomAccount, 'name' | 'apiUrl'>) }] : [];
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFile(file));
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as NodeJS.ErrnoException).code ?? 'not valid JSON';
    bad('ZOOM_ACCOUNTS_FILE', `${reason}; expected a JSON file of [{"name","accountId","clientId","clientSecret","apiUrl"?}]`);
    return [];
  }
  const result = z.array(accountSchema).min(1).safeParse(parsed);
  if (!result.success) {
    // Paths and messages only: values (secrets) are never echoed.
    const where = result.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.length ? `[${i.path.join('.')}]` : 'top level'} ${i.message}`)
      .join('; ');
    bad('ZOOM_ACCOUNTS_FILE', `expected a non-empty JSON array of {"name","accountId","clientId","clientSecret","apiUrl"?}: ${where}`);
    return [];
  }
  const names = result.data.map((a) => a.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) {
    bad('ZOOM_ACCOUNTS_FILE', `account names must be unique; "${dup}" appears twice`);
    return [];
  }
  return result.data.map(({ apiUrl, ...a }) => ({
    ...a,
    apiUrl: (apiUrl ?? defaultApiUrl).replace(/\/+$/, ''),
    ...(apiUrl === undefined && !apiUrlSet ? { apiUrlDefault: true as const } : {}),
  }));
}

const CLUSTER_NODES_EXPECTED = 'comma-separated host:port seed nodes of a Redis Cluster, e.g. 10.0.0.1:7000,10.0.0.2:7000';

function parseClusterNodes(v: string): Array<{ host: string; port: number }> | undefined {
  const nodes = v.split(',').map((s) => s.trim()).filter(Boolean).map((s) => /^([^:\s]+):(\d{1,5})$/.exec(s));
  if (!nodes.length || nodes.some((m) => !m || Number(m[2]) > 65535)) return undefined;
  return nodes.map((m) => ({ host: m![1]!, port: Number(m![2]) }));
}

/** AUDIT_KEY, optional; too short is a problem naming the variable, never its value. */
function readAuditKey(get: (name: string) => string | undefined, bad: (name: string, expected: string) => void): string | undefined {
  const key = get('AUDIT_KEY');
  if (key !== undefined && key.length < 32) {
    bad('AUDIT_KEY', 'at least 32 characters, e.g. from `openssl rand -hex 32` (or unset for a plain SHA-256 chain)');
    return undefined;
  }
  return key;
}

/**
 * Just the Redis part, for tools (audit verifier, sandbox) that need no Slack or Zoom credentials.
 * Throws ConfigError like loadConfig.
 */
export function loadRedisConfig(env: Env = process.env): Config['redis'] {
  const url = env.REDIS_URL?.trim() || 'redis://127.0.0.1:6379';
  const prefix = env.REDIS_PREFIX?.trim() || 'zoomjwt';
  const nodes = env.REDIS_CLUSTER_NODES?.trim() || undefined;
  const problems: string[] = [];
  if (!/^rediss?:\/\//.test(url)) problems.push('REDIS_URL: a redis:// or rediss:// URL');
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(prefix)) problems.push('REDIS_PREFIX: letters, digits, "_", "." or "-" (no braces or colons), at most 64');
  const clusterNodes = nodes === undefined ? undefined : parseClusterNodes(nodes);
  if (nodes !== undefined && clusterNodes === undefined) problems.push(`REDIS_CLUSTER_NODES: ${CLUSTER_NODES_EXPECTED}`);
  if (problems.length) throw new ConfigError(problems);
  return { url, prefix, ...(clusterNodes ? { clusterNodes } : {}) };
}

/** What `audit:verify` reads: the Redis part and AUDIT_KEY. Throws ConfigError like loadConfig. */
export function loadAuditVerifyConfig(env: Env = process.env): { redis: Config['redis']; auditKey?: string } {
  const problems: string[] = [];
  let redis: Config['redis'] | undefined;
  try {
    redis = loadRedisConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  const get = (name: string) => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const auditKey = readAuditKey(get, (name, expected) => problems.push(`${name}: ${expected}`));
  if (problems.length || !redis) throw new ConfigError(problems);
  return { redis, ...(auditKey ? { auditKey } : {}) };
}

/**
 * `npm start` and `npm run audit:verify` read `.env` (in the working directory) when there is one.
 * Node's own parser (`util.parseEnv`, the one behind `--env-file` and `process.loadEnvFile`), and
 * the same rule as those: a variable already in the environment wins, even when it is empty.
 * `--env-file` is not used because on Node 20 it stops the process when the file is missing
 * (`--env-file-if-exists` only came in Node 22). Returns whether a file was read.
 * Throws ConfigError when the file exists but this Node cannot parse it (before 20.12).
 */
export function loadEnvFile(path = '.env', env: NodeJS.ProcessEnv = process.env): boolean {
  if (!existsSync(path)) return false;
  const parseEnv = (nodeUtil as { parseEnv?: (content: string) => Record<string, string> }).parseEnv;
  if (typeof parseEnv !== 'function') {
    throw new ConfigError([`${path}: reading it needs Node 20.12 or later (this is ${process.version}); export its variables instead`]);
  }
  for (const [name, value] of Object.entries(parseEnv(readFileSync(path, 'utf8')))) {
    if (env[name] === undefined) env[name] = value;
  }
  return true;
}

function clip(value: string): string {
  return value.length > 60 ? `${value.slice(0, 57)}...` : value;
}

/** Every secret of a configuration, for log redaction checks and scrubbing. */
export function secretsOf(config: Config): string[] {
  return [
    config.slack.botToken,
    config.slack.signingSecret,
    config.slack.appToken,
    config.auditToken,
    config.auditKey,
    ...config.zoom.accounts.map((a) => a.clientSecret),
  ].filter((s): s is string => typeof s === 'string' && s.length > 0);
}
