/** The environment the tests run the app with: its secrets, its Zoom account, a complete valid config. */
import { REDIS_URL, uniquePrefix } from './redis';

export const TEST_SECRETS = {
  botToken: 'xoxb-test-bot-token-7f3a9c2e',
  signingSecret: 'test-signing-secret-5b8d1e4f',
  zoomClientSecret: 'zoom-client-secret-9e2c7a1b',
  auditToken: 'audit-token-3c6f8a2d4e1b',
  auditKey: 'audit-key-for-tests-0f3b8e1d9c2a7f64',
};

/** The Zoom account baseEnv configures; `startTestZoom` starts a fake Zoom that knows it. */
export const ACCOUNT_ID = 'acct-test';
export const CLIENT_ID = 'client-test';

/** A complete, valid environment; override what the test is about. */
export function baseEnv(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    SLACK_BOT_TOKEN: TEST_SECRETS.botToken,
    SLACK_SIGNING_SECRET: TEST_SECRETS.signingSecret,
    SLACK_API_URL: 'http://127.0.0.1:9/api/',
    REDIS_URL,
    REDIS_PREFIX: uniquePrefix('env'),
    ZOOM_ACCOUNT_ID: ACCOUNT_ID,
    ZOOM_CLIENT_ID: CLIENT_ID,
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
