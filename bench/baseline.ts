/**
 * The baseline: a bare Bolt app on its own HTTPReceiver, the same signing secret and the same
 * `/slack/events` path, whose listeners acknowledge with a constant: for `status`, a copy of the
 * app's status answer; for anything else, a two-word message. Run as a child process the
 * same way as the real app, so the ratio of the two measures what zoomjwt adds on top of Bolt.
 *
 * Environment: SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN, SLACK_API_URL (the fake Slack; Bolt never
 * calls it because the bot ids are given).
 */
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import type { AddressInfo } from 'node:net';

async function main(): Promise<void> {
  const signingSecret = process.env.SLACK_SIGNING_SECRET ?? '';
  const receiver = new HTTPReceiver({ signingSecret, endpoints: '/slack/events', logLevel: LogLevel.ERROR });
  const app = new App({
    token: process.env.SLACK_BOT_TOKEN ?? '',
    botId: 'B0BENCH',
    botUserId: 'U0BENCHBOT',
    receiver,
    logLevel: LogLevel.ERROR,
    clientOptions: { slackApiUrl: process.env.SLACK_API_URL ?? '' },
  });
  const tiny = { response_type: 'ephemeral' as const, text: 'ok' };
  // `status` is answered with a copy of the real app's status answer, set by the bench (message
  // `status-answer`), so both send the same bytes; any other text gets the two-word constant.
  let statusAnswer: Record<string, unknown> = tiny;
  app.command('/zoomjwt', async ({ ack, command }) => {
    await ack(command.text === 'status' ? statusAnswer : tiny);
  });
  app.action(/.*/, async ({ ack }) => {
    await ack();
  });
  const server = (await app.start(0)) as unknown as { address(): AddressInfo | string | null };
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  startMemorySampler();
  process.send?.({ type: 'ready', port });
  process.on('message', (msg: { id?: number; type?: string; json?: string }) => {
    if (msg.type === 'memory') process.send?.({ id: msg.id, ok: true, value: { samples } });
    if (msg.type === 'status-answer') {
      statusAnswer = JSON.parse(msg.json ?? '{}') as Record<string, unknown>;
      process.send?.({ id: msg.id, ok: true, value: { bytes: Buffer.byteLength(msg.json ?? '') } });
    }
    if (msg.type === 'cpu') {
      const cpu = process.cpuUsage();
      process.send?.({ id: msg.id, ok: true, value: { us: cpu.user + cpu.system } });
    }
    if (msg.type === 'stop') {
      void app.stop().finally(() => {
        process.send?.({ id: msg.id, ok: true, value: { stopped: true } });
        setImmediate(() => process.exit(0));
      });
    }
  });
}

const samples: Array<{ t: number; rss: number; heap: number }> = [];
/** RSS and heap every second (epoch ms, bytes), read by the parent at the end. */
function startMemorySampler(): void {
  const take = () => {
    const m = process.memoryUsage();
    samples.push({ t: Date.now(), rss: m.rss, heap: m.heapUsed });
  };
  take();
  setInterval(take, 1000).unref();
}

void main().catch((err: unknown) => {
  process.stderr.write(`baseline failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
