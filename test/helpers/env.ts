/** Environments and Redis hygiene shared by the integration tests. */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const TEST_SECRETS = {
  botToken: 'xoxb-test-bot-token-7f3a9c2e',
  signingSecret: 'test-signing-secret-5b8d1e4f',
  zoomClientSecret: 'zoom-client-secret-9e2c7a1b',
  auditToken: 'audit-token-3c6f8a2d4e1b',
  auditKey: 'audit-key-for-tests-0f3b8e1d9c2a7f64',
};

export function uniquePrefix(name: string): string {
  return `zjt-test-${name}-${randomBytes(4).toString('hex')}`;
}

/** A complete, valid environment; override what the test is about. */
export function baseEnv(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    SLACK_BOT_TOKEN: TEST_SECRETS.botToken,
    SLACK_SIGNING_SECRET: TEST_SECRETS.signingSecret,
    SLACK_API_URL: 'http://127.0.0.1:9/api/',
    REDIS_URL: 'redis://127.0.0.1:6379',
    REDIS_PREFIX: uniquePrefix('env'),
    ZOOM_ACCOUNT_ID: 'acct-test',
    ZOOM_CLIENT_ID: 'client-test',
    ZOOM_CLIENT_SECRET: TEST_SECRETS.zoomClientSecret,
    ZOOM_API_URL: 'http://127.0.0.1:9/v2',
    ZOOM_OAUTH_URL: 'http://127.0.0.1:9/oauth/token',
    DIGEST_CHANNEL: 'C0DIGEST',
    APPROVALS_CHANNEL: 'C0APPROVALS',
    APPROVERS: 'U0BOB,U0CAROL,U0DAVE',
    // Alice, the default sender, changes what is watched in most tests; role tests override this.
    ADMINS: 'U0ALICE',
    PORT: '0',
    LOG_LEVEL: 'debug',
    ...overrides,
  };
}

/**
 * Deletes every key of a test prefix (never FLUSHDB: other test files share the server).
 * `family: true` also takes every prefix that starts with it (files that make one per test).
 */
export async function dropPrefix(prefix: string, url = 'redis://127.0.0.1:6379', options: { family?: boolean } = {}): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', options.family ? `{${prefix}*` : `{${prefix}}*`, 'COUNT', 1000);
      cursor = next;
      if (found.length) await redis.unlink(...found);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
