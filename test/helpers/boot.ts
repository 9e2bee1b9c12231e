/**
 * Boots the real application in-process (the same `start()` as `npm start`) against the fake
 * Slack server, real Redis and, when given, the fake Zoom server. Log lines are captured so tests
 * can assert on them (and scan them for secrets).
 */
import { loadConfig, type Config } from '../../src/config';
import { checkMessage } from '../../dev/fakes/blockKit';
import { start, type Running, type StartOptions } from '../../src/main';
import { startFakeSlack, type FakeSlack } from '../../dev/fakes/slackServer';
import { actionBody, commandBody, postSigned, type ActionFields, type CommandFields, type PostResult } from '../../dev/fakes/signing';
import { baseEnv, TEST_SECRETS } from './env';
import { logSink } from './logs';
import { dropPrefix, uniquePrefix } from './redis';

export interface Booted {
  url: string;
  config: Config;
  running: Running;
  slack: FakeSlack;
  logs: string[];
  prefix: string;
  command(text: string, fields?: CommandFields): Promise<PostResult>;
  click(fields: ActionFields): Promise<PostResult>;
  /** Parsed log lines at or above a pino level number (50 = error). */
  logsAtLeast(level: number): Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** Default members of the fake workspace (U0ALICE, the default sender, is also the default admin). */
export const WORKSPACE_MEMBERS = ['U0ALICE', 'U0BOB', 'U0CAROL', 'U0DAVE', 'U0DANA', 'U0EVE', 'U0OWNER', 'U0MALLORY'];

export async function bootApp(
  name: string,
  env: Record<string, string | undefined> = {},
  options: StartOptions & { slack?: FakeSlack } = {},
): Promise<Booted> {
  const slack = options.slack ?? (await startFakeSlack());
  // The people the tests speak as are full members unless a test made them something else.
  for (const id of WORKSPACE_MEMBERS) if (!slack.knowsUser(id)) slack.addUser({ id });
  const prefix = env.REDIS_PREFIX ?? uniquePrefix(name);
  const config = loadConfig(baseEnv({ SLACK_API_URL: slack.apiUrl, REDIS_PREFIX: prefix, ...env }));
  const sink = logSink();
  const logs = sink.lines;
  const running = await start(config, { ...options, logDestination: sink });
  const url = `http://127.0.0.1:${running.port}`;
  let stopped = false;
  return {
    url,
    config,
    running,
    slack,
    logs,
    prefix,
    command: async (text, fields = {}) => {
      const path = `cmd-${++commandCounter}`;
      const res = await postSigned(`${url}/slack/events`, commandBody({ response_url: `${slack.responseUrlBase}${path}`, ...fields, text }), {
        signingSecret: TEST_SECRETS.signingSecret,
      });
      if (res.status === 200 && res.body === '' && fields.response_url === undefined) {
        // An empty ack: the answer (one with native blocks) follows on the response_url.
        const answer = await slack.waitForResponse((r) => r.path === `/respond/${path}`, 10_000);
        return { ...res, json: answer.body };
      }
      // The command's answer is a message too: Slack holds it to the same Block Kit limits.
      const errors = res.json ? checkMessage(res.json) : [];
      if (errors.length) slack.refused.push({ where: `answer to /zoomjwt ${text.slice(0, 40)}`, errors, payload: res.json! });
      return res;
    },
    click: (fields) =>
      postSigned(`${url}/slack/events`, actionBody({ response_url: `${slack.responseUrlBase}act`, ...fields }), {
        signingSecret: TEST_SECRETS.signingSecret,
      }),
    logsAtLeast: (level) =>
      logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => Number(l.level) >= level),
    async stop() {
      if (stopped) return;
      stopped = true;
      await running.stop();
      if (!options.slack) await slack.close();
      await dropPrefix(prefix);
      // Slack would have refused these (Block Kit limits): a view of the app broke a limit.
      if (slack.refused.length) {
        const r = slack.refused[0]!;
        throw new Error(`fake Slack refused ${slack.refused.length} payload(s) as invalid_blocks; first, ${r.where}: ${JSON.stringify(r.errors.slice(0, 3))}`);
      }
    },
  };
}

let commandCounter = 0;

/** Text of every block of a Slack message, joined: what a reader would see. */
export function visibleText(msg: { text?: unknown; blocks?: unknown } | undefined): string {
  if (!msg) return '';
  const parts: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      const obj = node as Record<string, unknown>;
      if (typeof obj.text === 'string') parts.push(obj.text);
      for (const [k, v] of Object.entries(obj)) if (k !== 'text' || typeof v !== 'string') walk(v);
    }
  };
  walk(msg.blocks ?? []);
  return parts.length ? parts.join('\n') : String(msg.text ?? '');
}
