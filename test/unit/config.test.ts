import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadAuditVerifyConfig, loadConfig, loadEnvFile, loadRedisConfig, secretsOf } from '../../src/config';
import { baseEnv, TEST_SECRETS } from '../helpers/env';

function problemsOf(env: Record<string, string | undefined>, readFile?: (p: string) => string): string[] {
  try {
    loadConfig(env, readFile);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('configuration', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig(baseEnv({ APPROVALS_CHANNEL: undefined, PORT: undefined, LOG_LEVEL: undefined, SLACK_API_URL: undefined, ZOOM_API_URL: undefined, ZOOM_OAUTH_URL: undefined }));
    expect(config.approvalsChannel).toBe('C0DIGEST');
    expect(config.requiredApprovals).toBe(2);
    expect(config.approvalTtlMs).toBe(24 * 3_600_000);
    expect(config.soakPeriodMs).toBe(7 * 86_400_000);
    expect(config.pollEveryMs).toBe(15 * 60_000);
    expect(config.digestCron).toBe('0 9 * * *');
    expect(config.digestTz).toBe('UTC');
    expect(config.actionsMode).toBe('dry-run');
    expect(config.port).toBe(3000);
    expect(config.role).toBe('all');
    expect(config.logLevel).toBe('info');
    expect(config.slack.apiUrl).toBe('https://slack.com/api/');
    expect(config.zoom.oauthUrl).toBe('https://zoom.us/oauth/token');
    expect(config.zoom.accounts).toEqual([
      { name: 'default', accountId: 'acct-test', clientId: 'client-test', clientSecret: TEST_SECRETS.zoomClientSecret, apiUrl: 'https://api.zoom.us/v2', apiUrlDefault: true },
    ]);
    expect(config.auditToken).toBeUndefined();
  });

  it('parses durations, lists and modes', () => {
    const config = loadConfig(baseEnv({ APPROVAL_TTL: '90m', SOAK_PERIOD: '0', POLL_EVERY: '90s', ZOOM_APP_IDS: 'abc, def ,', APPROVERS: 'U1AA,S2BB,W3CC', ACTIONS_MODE: 'live', REQUIRED_APPROVALS: '3' }));
    expect(config.approvalTtlMs).toBe(90 * 60_000);
    expect(config.soakPeriodMs).toBe(0);
    expect(config.pollEveryMs).toBe(90_000);
    expect(config.zoom.appIds).toEqual([{ account: 'default', appId: 'abc' }, { account: 'default', appId: 'def' }]);
    expect(config.approvers).toEqual(['U1AA', 'S2BB', 'W3CC']);
    expect(config.actionsMode).toBe('live');
    expect(config.requiredApprovals).toBe(3);
  });

  it('accepts 0 where it means "off" and refuses it where it cannot', () => {
    const config = loadConfig(baseEnv({ POLL_EVERY: '0', SOAK_PERIOD: '0' }));
    expect(config.pollEveryMs).toBe(0);
    expect(config.soakPeriodMs).toBe(0);
    expect(problemsOf(baseEnv({ APPROVAL_TTL: '0', POLL_EVERY: '5s' })).map((p) => p.split(':')[0])).toEqual(['APPROVAL_TTL', 'POLL_EVERY']);
  });

  it('treats empty values as unset', () => {
    const config = loadConfig(baseEnv({ POLL_EVERY: '', ACTIONS_MODE: '  ', AUDIT_TOKEN: '' }));
    expect(config.pollEveryMs).toBe(15 * 60_000);
    expect(config.actionsMode).toBe('dry-run');
    expect(config.auditToken).toBeUndefined();
  });

  it('names every bad variable at once, and what it expects', () => {
    const problems = problemsOf(
      baseEnv({ SLACK_BOT_TOKEN: undefined, SLACK_SIGNING_SECRET: '', POLL_EVERY: '15x', ACTIONS_MODE: 'yolo', DIGEST_CHANNEL: undefined, DIGEST_TZ: 'Mars/Olympus', DIGEST_CRON: 'every day', PORT: '70000', REQUIRED_APPROVALS: '0', APPROVERS: 'bob', ROLE: 'boss', REDIS_URL: 'http://x' }),
    );
    const names = problems.map((p) => p.split(':')[0]);
    expect(names).toEqual(
      expect.arrayContaining(['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'POLL_EVERY', 'ACTIONS_MODE', 'DIGEST_CHANNEL', 'DIGEST_TZ', 'DIGEST_CRON', 'PORT', 'REQUIRED_APPROVALS', 'APPROVERS', 'ROLE', 'REDIS_URL']),
    );
    expect(problems).toHaveLength(12);
    expect(problems.find((p) => p.startsWith('POLL_EVERY'))).toMatch(/"15x".*duration like 90s, 15m, 24h or 7d/);
    expect(problems.find((p) => p.startsWith('ACTIONS_MODE'))).toMatch(/dry-run or live/);
  });

  it('never echoes a secret value in its message', () => {
    const problems = problemsOf(baseEnv({ SLACK_BOT_TOKEN: 'not-a-bot-token-secret-value', ZOOM_CLIENT_SECRET: undefined }));
    expect(problems.join('\n')).not.toContain('not-a-bot-token-secret-value');
    expect(problems.some((p) => p.startsWith('ZOOM_CLIENT_SECRET'))).toBe(true);
  });

  it('takes an AUDIT_KEY of 32 characters or more as a secret, and names a short one without echoing it', () => {
    const config = loadConfig(baseEnv({ AUDIT_KEY: TEST_SECRETS.auditKey }));
    expect(config.auditKey).toBe(TEST_SECRETS.auditKey);
    expect(secretsOf(config)).toContain(TEST_SECRETS.auditKey);
    expect(loadConfig(baseEnv({ AUDIT_KEY: ' ' })).auditKey).toBeUndefined();
    const short = 'k'.repeat(31);
    const problems = problemsOf(baseEnv({ AUDIT_KEY: short }));
    expect(problems).toEqual([expect.stringMatching(/^AUDIT_KEY: at least 32 characters/)]);
    expect(problems.join('\n')).not.toContain(short);
  });

  it('gives audit:verify the Redis settings, Cluster nodes and AUDIT_KEY, with every problem at once', () => {
    expect(loadAuditVerifyConfig({ REDIS_PREFIX: 'p1', REDIS_CLUSTER_NODES: '10.0.0.1:7000, 10.0.0.2:7001', AUDIT_KEY: TEST_SECRETS.auditKey })).toEqual({
      redis: { url: 'redis://127.0.0.1:6379', prefix: 'p1', clusterNodes: [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7001 }] },
      auditKey: TEST_SECRETS.auditKey,
    });
    expect(loadRedisConfig({})).toEqual({ url: 'redis://127.0.0.1:6379', prefix: 'zoomjwt' });
    let problems: string[] = [];
    try {
      loadAuditVerifyConfig({ REDIS_PREFIX: 'a:b', REDIS_CLUSTER_NODES: 'nope', AUDIT_KEY: 'short-secret' });
    } catch (err) {
      problems = (err as ConfigError).problems;
    }
    expect(problems.map((p) => p.split(':')[0])).toEqual(['REDIS_PREFIX', 'REDIS_CLUSTER_NODES', 'AUDIT_KEY']);
    expect(problems.join('\n')).not.toContain('short-secret');
  });

  it('reads several accounts from ZOOM_ACCOUNTS_FILE, and needs account names in ZOOM_APP_IDS', () => {
    const file = JSON.stringify([
      { name: 'us', accountId: 'a1', clientId: 'c1', clientSecret: 's1' },
      { name: 'eu', accountId: 'a2', clientId: 'c2', clientSecret: 's2', apiUrl: 'https://eu.example.test/v2/' },
    ]);
    const env = baseEnv({ ZOOM_ACCOUNT_ID: undefined, ZOOM_CLIENT_ID: undefined, ZOOM_CLIENT_SECRET: undefined, ZOOM_ACCOUNTS_FILE: '/accounts.json', ZOOM_APP_IDS: 'us:app1,eu:app2' });
    const config = loadConfig(env, () => file);
    expect(config.zoom.accounts.map((a) => [a.name, a.apiUrl])).toEqual([
      ['us', 'http://127.0.0.1:9/v2'],
      ['eu', 'https://eu.example.test/v2'],
    ]);
    // An explicit base (ZOOM_API_URL here, the file's apiUrl) wins over the token answer's api_url.
    expect(config.zoom.accounts.map((a) => a.apiUrlDefault)).toEqual([undefined, undefined]);
    const unset = loadConfig({ ...env, ZOOM_API_URL: undefined }, () => file);
    expect(unset.zoom.accounts.map((a) => [a.apiUrl, a.apiUrlDefault])).toEqual([
      ['https://api.zoom.us/v2', true],
      ['https://eu.example.test/v2', undefined],
    ]);
    expect(config.zoom.appIds).toEqual([{ account: 'us', appId: 'app1' }, { account: 'eu', appId: 'app2' }]);
    expect(problemsOf({ ...env, ZOOM_APP_IDS: 'app1' }, () => file)[0]).toMatch(/ZOOM_APP_IDS: .*needs its account name/);
    expect(problemsOf({ ...env, ZOOM_APP_IDS: 'mars:app1' }, () => file)[0]).toMatch(/does not define/);
  });

  it('explains a bad accounts file without showing its secrets', () => {
    const env = baseEnv({ ZOOM_ACCOUNT_ID: undefined, ZOOM_CLIENT_ID: undefined, ZOOM_CLIENT_SECRET: undefined, ZOOM_ACCOUNTS_FILE: '/a.json' });
    expect(problemsOf(env, () => '{not json')[0]).toMatch(/ZOOM_ACCOUNTS_FILE: .*JSON/);
    const missing = problemsOf(env, () => {
      throw Object.assign(new Error('nope'), { code: 'ENOENT' });
    });
    expect(missing[0]).toMatch(/file not found/);
    const wrong = problemsOf(env, () => JSON.stringify([{ name: 'x', accountId: 'a', clientSecret: 'TOPSECRET' }]));
    expect(wrong[0]).toMatch(/clientId/);
    expect(wrong.join()).not.toContain('TOPSECRET');
    expect(problemsOf({ ...env, ZOOM_ACCOUNT_ID: 'a' }, () => '[]')[0]).toMatch(/not both/);
  });
});

describe('approvers', () => {
  it('are required in live mode, where without them no request could ever be approved', () => {
    expect(problemsOf(baseEnv({ ACTIONS_MODE: 'live', APPROVERS: undefined }))).toEqual([expect.stringMatching(/^APPROVERS: required when ACTIONS_MODE=live/)]);
    expect(problemsOf(baseEnv({ ACTIONS_MODE: 'live', APPROVERS: ' ' }))).toEqual([expect.stringMatching(/^APPROVERS: required/)]);
    expect(problemsOf(baseEnv({ ACTIONS_MODE: 'dry-run', APPROVERS: undefined }))).toEqual([]);
  });
});

describe('.env loading', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zoomjwt-env-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('fills in what the environment lacks; a variable already set wins, even an empty one', () => {
    const file = join(dir, '.env');
    writeFileSync(file, '# comment\nA=from-file\nB=from-file\nC=from-file\nDIGEST_CRON="0 9 * * *"\n');
    const env: NodeJS.ProcessEnv = { B: 'real', C: '' };
    expect(loadEnvFile(file, env)).toBe(true);
    expect(env).toEqual({ A: 'from-file', B: 'real', C: '', DIGEST_CRON: '0 9 * * *' });
  });

  it('is no error when there is no file', () => {
    const env: NodeJS.ProcessEnv = {};
    expect(loadEnvFile(join(dir, 'missing.env'), env)).toBe(false);
    expect(env).toEqual({});
  });

  it('reads .env.example as shipped into a configuration that names only the values left to fill in', () => {
    const env: NodeJS.ProcessEnv = {};
    loadEnvFile(join(__dirname, '..', '..', '.env.example'), env);
    expect(env.DIGEST_CRON).toBe('0 9 * * *');
    const problems = problemsOf(env);
    expect(problems.map((p) => p.split(':')[0])).toEqual(['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'ZOOM_ACCOUNT_ID', 'ZOOM_CLIENT_ID', 'ZOOM_CLIENT_SECRET', 'DIGEST_CHANNEL']);
  });

  it('can also be sourced by a POSIX shell (`. ./.env`): values with spaces are quoted', () => {
    const example = join(__dirname, '..', '..', '.env.example');
    const out = execFileSync('sh', ['-c', 'set -ae; . "$0"; printf "%s|%s" "$DIGEST_CRON" "$REQUIRED_APPROVALS"', example], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(out).toBe('0 9 * * *|2');
  });
});
