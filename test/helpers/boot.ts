/**
 * Boots the real application in-process (the same `start()` as `npm start`) against the fake
 * Slack server, real Redis and, when given, the fake Zoom server. Log lines are captured so tests
 * can assert on them (and scan them for secrets). Every in-process boot of the suite goes
 * through `bootApp`; the approval harness's `bootOn` is it with the harness's people and settings.
 */
import { loadConfig, type Config } from '../../src/config';
import { checkMessage } from '../../dev/fakes/blockKit';
import { start, type Running, type StartOptions } from '../../src/main';
import { startFakeSlack, type FakeSlack } from '../../dev/fakes/slackServer';
import { startFakeZoom, type FakeZoom, type FakeZoomAccount } from '../../dev/fakes/zoomServer';
import { actionBody, commandBody, postSigned, type ActionFields, type CommandFields, type PostResult } from '../../dev/fakes/signing';
import { ACCOUNT_ID, baseEnv, CLIENT_ID, TEST_SECRETS } from './env';
import { logSink } from './logs';
import { dropPrefix, uniquePrefix } from './redis';

export interface Booted {
  url: string;
  config: Config;
  running: Running;
  slack: FakeSlack;
  /** The fake Zoom the app was booted against, when it was given one. */
  zoom?: FakeZoom;
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

/** A fake Zoom that knows the test account (ACCOUNT_ID, with baseEnv's credentials); `account` changes what the test is about. */
export async function startTestZoom(account: Partial<FakeZoomAccount> = {}): Promise<FakeZoom> {
  const zoom = await startFakeZoom();
  zoom.addAccount({ accountId: ACCOUNT_ID, clientId: CLIENT_ID, clientSecret: TEST_SECRETS.zoomClientSecret, ...account });
  return zoom;
}

/** What points the app at a fake Zoom, as the test account. */
export function zoomEnv(zoom: FakeZoom): Record<string, string> {
  return { ZOOM_API_URL: zoom.apiUrl, ZOOM_OAUTH_URL: zoom.oauthUrl, ZOOM_ACCOUNT_ID: ACCOUNT_ID };
}

/**
 * Boots the app as `name` (its Redis prefix, unless `env` names one). A given fake Slack or Zoom
 * stays the caller's to close; without `slack` the app gets a fake Slack of its own, closed by
 * `stop()`. `env` wins over what `zoom` points the app at.
 */
export async function bootApp(
  name: string,
  env: Record<string, string | undefined> = {},
  options: StartOptions & { slack?: FakeSlack; zoom?: FakeZoom } = {},
): Promise<Booted> {
  const { slack: givenSlack, zoom, ...startOptions } = options;
  const slack = givenSlack ?? (await startFakeSlack());
  // The people the tests speak as are full members unless a test made them something else.
  for (const id of WORKSPACE_MEMBERS) if (!slack.knowsUser(id)) slack.addUser({ id });
  const prefix = env.REDIS_PREFIX ?? uniquePrefix(name);
  const config = loadConfig(baseEnv({ SLACK_API_URL: slack.apiUrl, ...(zoom ? zoomEnv(zoom) : {}), REDIS_PREFIX: prefix, ...env }));
  const sink = logSink();
  const logs = sink.lines;
  const running = await start(config, { ...startOptions, logDestination: sink });
  const url = `http://127.0.0.1:${running.port}`;
  let stopped = false;
  return {
    url,
    config,
    running,
    slack,
    ...(zoom ? { zoom } : {}),
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
      if (!givenSlack) await slack.close();
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
