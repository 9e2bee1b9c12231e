/**
 * Slack failures are never silent: a digest that Slack refuses shows up in `/zoomjwt status`
 * with a sentence saying what to do, and disappears once posting works again.
 */
import { bootApp, visibleText, type Booted } from '../helpers/boot';
import { until } from '../helpers/polls';

let app: Booted;
beforeAll(async () => {
  app = await bootApp('slackproblems', { POLL_EVERY: '0' });
});
afterAll(async () => {
  await app.stop();
});

it('shows a digest the bot could not post in status, until a post works', async () => {
  app.slack.fail('chat.postMessage', { error: 'not_in_channel' }, 10);
  expect((await app.command('digest')).status).toBe(200);
  await until(async () => (app.slack.callsTo('chat.postMessage').some((c) => c.args.channel === 'C0DIGEST') ? true : undefined), 'the digest post', { everyMs: 50 });
  const shown = await until(async () => {
    const text = visibleText((await app.command('status')).json);
    return /bot is not in channel C0DIGEST/.test(text) ? text : undefined;
  }, 'status to show the channel problem', { everyMs: 50 });
  expect(shown).toMatch(/invite it with \/invite @zoomjwt/);
  expect(app.logsAtLeast(40).some((l) => l.error === 'not_in_channel')).toBe(true);

  app.slack.reset();
  await app.running.services.slack.chat.postMessage({ channel: 'C0DIGEST', text: 'works again' });
  const after = visibleText((await app.command('status')).json);
  expect(after).not.toMatch(/not in channel/);
});
