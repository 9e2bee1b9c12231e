/**
 * Slack failures are never silent: a digest that Slack refuses shows up in `/zoomjwt status`
 * with a sentence saying what to do, and disappears once posting works again.
 */
import { bootApp, visibleText, type Booted } from '../helpers/boot';

let app: Booted;
beforeAll(async () => {
  app = await bootApp('slackproblems', { POLL_EVERY: '0' });
});
afterAll(async () => {
  await app.stop();
});

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

it('shows a digest the bot could not post in status, until a post works', async () => {
  app.slack.fail('chat.postMessage', { error: 'not_in_channel' }, 10);
  expect((await app.command('digest')).status).toBe(200);
  await until(async () => (app.slack.callsTo('chat.postMessage').some((c) => c.args.channel === 'C0DIGEST') ? true : undefined));
  const shown = await until(async () => {
    const text = visibleText((await app.command('status')).json);
    return /bot is not in channel C0DIGEST/.test(text) ? text : undefined;
  });
  expect(shown).toMatch(/invite it with \/invite @zoomjwt/);
  expect(app.logsAtLeast(40).some((l) => l.error === 'not_in_channel')).toBe(true);

  app.slack.reset();
  await app.running.services.slack.chat.postMessage({ channel: 'C0DIGEST', text: 'works again' });
  const after = visibleText((await app.command('status')).json);
  expect(after).not.toMatch(/not in channel/);
});
