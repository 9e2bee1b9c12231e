/**
 * `@slack/web-api`'s own log lines (warnings Slack returns, a message without fallback text) go
 * through the app's pino logger: JSON lines with redaction, never plain text on stderr.
 */
import { bootApp, type Booted } from '../helpers/boot';
import { TEST_SECRETS } from '../helpers/env';

let b: Booted;
beforeAll(async () => {
  b = await bootApp('slack-logging', { LOG_LEVEL: 'info' });
});
afterAll(async () => {
  await b.stop();
});

const webApiLines = () =>
  b.logs.map((l) => JSON.parse(l) as { level: number; component?: string; msg: string }).filter((l) => l.component === 'slack-web-api');

it('a warning Slack returns to the app client is a pino warn line, with secrets scrubbed', async () => {
  // A warning that (absurdly) quotes the token: the line must still not carry it.
  b.slack.warn('chat.postMessage', `superfluous_charset near ${TEST_SECRETS.botToken}`);
  await b.running.services.slack.chat.postMessage({ channel: 'C0DIGEST', text: 'hello' });
  const line = webApiLines().find((l) => l.msg.includes('superfluous_charset'));
  expect(line).toMatchObject({ level: 40, msg: expect.stringMatching(/^superfluous_charset near \[REDACTED\]/) });
  expect(b.logs.join('\n')).not.toContain(TEST_SECRETS.botToken);
});

it("the client's own warnings (blocks without a fallback text) are pino lines too", async () => {
  await b.running.services.slack.chat.postMessage({ channel: 'C0DIGEST', blocks: [{ type: 'divider' }] });
  expect(webApiLines().some((l) => l.level === 40 && /top-level `text` argument is missing/.test(l.msg))).toBe(true);
});
