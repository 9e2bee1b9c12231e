/**
 * A fake Slack Web API on loopback. It records every call (method, auth, decoded args), answers
 * the methods zoomjwt uses with Slack-shaped JSON, keeps posted messages so tests can read the
 * current state of a card, and doubles as the sink for `response_url` posts.
 * Failures are scripted per method: `{ok:false,error}` bodies or HTTP 429 with Retry-After.
 * Views behave as in Slack: `views.open` takes a trigger id it issued (`issueTrigger`: 3 s, single
 * use), `views.update` a view it opened, and `views.publish` keeps each user's Home view
 * (`homeView`).
 * Every message, update, ephemeral, view and response_url post is checked against Slack's Block
 * Kit limits (blockKit.ts) and refused as Slack refuses it: `{ok:false,error:"invalid_blocks"}`
 * from the Web API, HTTP 400 `invalid_blocks` from a response_url. Refusals are kept in `refused`.
 *
 * It is the sandbox's Slack (`npm run sandbox` renders what arrives here, see `subscribe`) and
 * the integration tests' fake (imported through dev/fakes). The other direction, Slack calling
 * the app, is `slashCommandBody` / `blockActionsBody` / `sendSigned` below: form-encoded bodies
 * signed with v0 HMAC-SHA256, as Slack sends them.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkMessage, checkView, slackErrorMessages, type BlockKitError, type CheckOptions } from './blockKit';
import { jsonOrUndefined, postSigned } from './signing';

export interface SlackCall {
  method: string;
  authorization: string | undefined;
  contentType: string | undefined;
  args: Record<string, unknown>;
  at: number;
}

export interface ResponseUrlPost {
  path: string;
  body: Record<string, unknown>;
}

export interface FakeUser {
  id: string;
  name?: string;
  deleted?: boolean;
  is_bot?: boolean;
  is_restricted?: boolean;
  is_ultra_restricted?: boolean;
  team_id?: string;
  tz?: string;
  /** Enterprise Grid: `users.info` then reports the org (or one fixed workspace) as `team_id`. */
  enterprise_user?: { id?: string; enterprise_id: string; enterprise_name?: string; teams: string[]; is_admin?: boolean };
}

export interface StoredMessage {
  channel: string;
  ts: string;
  text: string;
  blocks: unknown[];
  thread_ts?: string;
  updates: number;
}

/** A payload the fake refused as Slack would, and why. */
export interface RefusedPayload {
  /** The Web API method, or `response_url`. */
  where: string;
  errors: BlockKitError[];
  payload: Record<string, unknown>;
}

/** Methods whose payload carries message blocks, and those that carry a view. */
const MESSAGE_METHODS = new Set(['chat.postMessage', 'chat.update', 'chat.postEphemeral', 'chat.scheduleMessage']);
const VIEW_METHODS = new Set(['views.open', 'views.update', 'views.push', 'views.publish']);

/** What Slack would refuse in a Web API call's arguments, if anything. */
function blockKitErrors(method: string, args: Record<string, unknown>, opts: CheckOptions): BlockKitError[] {
  if (VIEW_METHODS.has(method)) {
    let view = args.view;
    if (typeof view === 'string') {
      try {
        view = JSON.parse(view) as unknown;
      } catch {
        return [{ pointer: '/view', message: 'is not valid JSON' }];
      }
    }
    return checkView(view, opts);
  }
  return MESSAGE_METHODS.has(method) ? checkMessage(args, 'message', opts) : [];
}

/** How long a trigger id may be used (Slack: 3 s). */
export const TRIGGER_TTL_MS = 3_000;

type Failure = { error?: string; status?: number; retryAfter?: number; remaining: number };

/** What arrived, in order: a Web API call answered `ok` (with its answer), or a response_url post. */
export type SlackActivity =
  | { kind: 'call'; call: SlackCall; result: Record<string, unknown> }
  | { kind: 'response'; response: ResponseUrlPost }
  | { kind: 'refused'; refused: RefusedPayload };

export interface FakeSlack {
  /** `http://127.0.0.1:PORT/api/` — SLACK_API_URL. */
  apiUrl: string;
  /** Base for response_url values: `http://127.0.0.1:PORT/respond/`. */
  responseUrlBase: string;
  teamId: string;
  botUserId: string;
  calls: SlackCall[];
  responses: ResponseUrlPost[];
  /** Payloads refused for breaking Block Kit limits (never carried out). */
  refused: RefusedPayload[];
  /** Payloads refused only because of a block type refuseBlockTypes turned off (a test's intent, not a bug). */
  declined: RefusedPayload[];
  messages: Map<string, StoredMessage>;
  /**
   * A trigger id as Slack puts in a command or an interaction: valid for TRIGGER_TTL_MS and
   * single use. `views.open` answers `invalid_trigger_id` for one it never issued,
   * `expired_trigger_id` once it is too old (or `expireTrigger`d) and `exchanged_trigger_id` the
   * second time.
   */
  issueTrigger(): string;
  /** Makes an issued trigger expired now (tests do not wait 3 s). */
  expireTrigger(triggerId: string): void;
  /** The Home view last published for a user (`views.publish`), as Slack would show it. */
  homeView(userId: string): Record<string, unknown> | undefined;
  /** Modals opened (`views.open`/`views.push`) and their current view, updates applied, by view id. */
  views: Map<string, { view: Record<string, unknown>; user?: string; triggerId: string; updates: number }>;
  addUser(user: FakeUser): void;
  /** What `apps.connections.open` answers (Socket Mode's WebSocket URL). */
  setSocketModeUrl(url: string): void;
  /** Whether `users.info` knows this id (unknown users get `user_not_found`, as in Slack). */
  knowsUser(id: string): boolean;
  setUsergroup(groupId: string, users: string[] | { error: string }): void;
  /** Scripts the next `times` calls of `method` to fail. */
  fail(method: string, failure: { error?: string; status?: number; retryAfter?: number }, times?: number): void;
  /**
   * The next `times` calls of `method` (whose arguments `match`, when given) are recorded but
   * neither carried out nor answered (the connection stays open until close): a caller that dies
   * meanwhile never had an effect.
   */
  hold(method: string, times?: number, match?: (args: Record<string, unknown>) => boolean): void;
  /**
   * Makes this workspace refuse the given block types (`invalid_blocks`, as an older workspace or
   * client refuses `data_visualization`, `table`, `data_table`); an empty list accepts them again.
   */
  refuseBlockTypes(types: string[]): void;
  /** The next `times` successful answers of `method` carry `warning` as Slack sends warnings. */
  warn(method: string, warning: string, times?: number): void;
  callsTo(method: string): SlackCall[];
  /** Resolves when a call to `method` matching `pred` arrives (or already has). */
  waitFor(method: string, pred?: (c: SlackCall) => boolean, timeoutMs?: number): Promise<SlackCall>;
  waitForResponse(pred?: (r: ResponseUrlPost) => boolean, timeoutMs?: number): Promise<ResponseUrlPost>;
  message(channel: string, ts: string): StoredMessage | undefined;
  /** Calls `listener` for every answered call and response_url post; returns the unsubscribe. */
  subscribe(listener: (activity: SlackActivity) => void): () => void;
  reset(): void;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function decodeArgs(contentType: string | undefined, raw: string): Record<string, unknown> {
  if (!raw) return {};
  if (contentType?.startsWith('application/json')) return JSON.parse(raw) as Record<string, unknown>;
  const args: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(raw)) {
    // WebClient sends structured arguments (blocks, attachments) as JSON strings.
    args[k] = (k === 'blocks' || k === 'attachments' || k === 'metadata') && v.startsWith('[') ? JSON.parse(v) : v;
  }
  return args;
}

export async function startFakeSlack(options: { teamId?: string; botUserId?: string; enterpriseId?: string } = {}): Promise<FakeSlack> {
  const teamId = options.teamId ?? 'T0TEST';
  const botUserId = options.botUserId ?? 'U0BOT';
  const calls: SlackCall[] = [];
  const responses: ResponseUrlPost[] = [];
  const refused: RefusedPayload[] = [];
  const declined: RefusedPayload[] = [];
  const messages = new Map<string, StoredMessage>();
  const users = new Map<string, FakeUser>();
  const groups = new Map<string, string[] | { error: string }>();
  const failures = new Map<string, Failure[]>();
  const holds: Array<{ method: string; remaining: number; match?: (args: Record<string, unknown>) => boolean }> = [];
  const warnings: Array<{ method: string; warning: string; remaining: number }> = [];
  const waiters: Array<() => void> = [];
  const listeners = new Set<(activity: SlackActivity) => void>();
  let tsCounter = 0;
  let socketUrl: string | undefined;
  const checkOpts: { unsupported: Set<string> } = { unsupported: new Set() };
  const triggers = new Map<string, { issuedAt: number; used: boolean; expired: boolean }>();
  const homes = new Map<string, Record<string, unknown>>();
  const views = new Map<string, { view: Record<string, unknown>; user?: string; triggerId: string; updates: number }>();
  const viewOf = (args: Record<string, unknown>): Record<string, unknown> => {
    const v = typeof args.view === 'string' ? (JSON.parse(args.view) as unknown) : args.view;
    return (v && typeof v === 'object' ? v : {}) as Record<string, unknown>;
  };
  /** Slack's answers about a trigger id, or undefined when it may be used (it is then used up). */
  const triggerError = (id: unknown): string | undefined => {
    const t = typeof id === 'string' ? triggers.get(id) : undefined;
    if (!t) return 'invalid_trigger_id';
    if (t.used) return 'exchanged_trigger_id';
    if (t.expired || Date.now() - t.issuedAt > TRIGGER_TTL_MS) return 'expired_trigger_id';
    t.used = true;
    return undefined;
  };

  const publish = (activity: SlackActivity) => listeners.forEach((l) => l(activity));

  const notify = () => waiters.splice(0).forEach((w) => w());

  const answer = (method: string, args: Record<string, unknown>): Record<string, unknown> => {
    switch (method) {
      case 'auth.test':
        return {
          ok: true, url: 'https://fake.slack/', team: 'Fake', user: 'zoomjwt', team_id: teamId, user_id: botUserId, bot_id: 'B0BOT',
          ...(options.enterpriseId ? { enterprise_id: options.enterpriseId, is_enterprise_install: false } : {}),
        };
      case 'chat.postMessage': {
        const channel = String(args.channel);
        tsCounter += 1;
        const ts = `${1_700_000_000 + tsCounter}.${String(tsCounter).padStart(6, '0')}`;
        const msg: StoredMessage = {
          channel, ts, text: String(args.text ?? ''), blocks: (args.blocks as unknown[]) ?? [], updates: 0,
          ...(args.thread_ts ? { thread_ts: String(args.thread_ts) } : {}),
        };
        messages.set(`${channel}/${ts}`, msg);
        return { ok: true, channel, ts, message: { text: msg.text, blocks: msg.blocks } };
      }
      case 'chat.update': {
        const key = `${String(args.channel)}/${String(args.ts)}`;
        const msg = messages.get(key);
        if (!msg) return { ok: false, error: 'message_not_found' };
        msg.text = String(args.text ?? msg.text);
        if (args.blocks) msg.blocks = args.blocks as unknown[];
        msg.updates += 1;
        return { ok: true, channel: msg.channel, ts: msg.ts };
      }
      case 'chat.postEphemeral':
        return { ok: true, message_ts: `${1_700_000_000 + ++tsCounter}.000000` };
      case 'chat.getPermalink':
        return { ok: true, permalink: `https://fake.slack/archives/${String(args.channel)}/p${String(args.message_ts).replace('.', '')}` };
      case 'users.info': {
        const user = users.get(String(args.user));
        if (!user) return { ok: false, error: 'user_not_found' };
        return {
          ok: true,
          user: {
            id: user.id, name: user.name ?? user.id.toLowerCase(), team_id: user.team_id ?? teamId,
            deleted: user.deleted ?? false, is_bot: user.is_bot ?? false,
            is_restricted: user.is_restricted ?? false, is_ultra_restricted: user.is_ultra_restricted ?? false,
            tz: user.tz ?? 'UTC', profile: { display_name: user.name ?? user.id },
            ...(user.enterprise_user ? { enterprise_user: { id: user.id, enterprise_name: 'Org', is_admin: false, ...user.enterprise_user } } : {}),
          },
        };
      }
      case 'usergroups.users.list': {
        const group = groups.get(String(args.usergroup));
        if (!group) return { ok: false, error: 'no_such_subteam' };
        if (!Array.isArray(group)) return { ok: false, error: group.error };
        return { ok: true, users: group };
      }
      case 'views.open':
      case 'views.push': {
        const view = viewOf(args);
        if (view.type !== 'modal') return { ok: false, error: 'invalid_arguments' };
        const bad = triggerError(args.trigger_id);
        if (bad) return { ok: false, error: bad };
        const id = `V${++tsCounter}`;
        views.set(id, { view, triggerId: String(args.trigger_id), updates: 0 });
        return { ok: true, view: { id, ...view } };
      }
      case 'views.update': {
        const id = typeof args.view_id === 'string' ? args.view_id : undefined;
        if (!id && typeof args.external_id !== 'string') return { ok: false, error: 'invalid_arguments' };
        const known = id ? views.get(id) : undefined;
        if (!known) return { ok: false, error: 'not_found' };
        const view = viewOf(args);
        if (view.type !== 'modal') return { ok: false, error: 'invalid_arguments' };
        known.view = view;
        known.updates += 1;
        return { ok: true, view: { id, ...view } };
      }
      case 'views.publish': {
        const user = typeof args.user_id === 'string' ? args.user_id : '';
        if (!user) return { ok: false, error: 'invalid_arguments' };
        if (!users.has(user)) return { ok: false, error: 'user_not_found' };
        const view = viewOf(args);
        if (view.type !== 'home') return { ok: false, error: 'invalid_arguments' };
        homes.set(user, view);
        return { ok: true, view: { id: `V${++tsCounter}`, ...view } };
      }
      case 'apps.connections.open':
        // Socket Mode: where the app opens its WebSocket (a test's fake Socket Mode server).
        return socketUrl ? { ok: true, url: socketUrl } : { ok: false, error: 'invalid_auth' };
      default:
        return { ok: true };
    }
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const raw = await readBody(req);
      const url = req.url ?? '/';
      if (url.startsWith('/respond/')) {
        const response = { path: url, body: raw ? (JSON.parse(raw) as Record<string, unknown>) : {} };
        const errors = checkMessage(response.body, 'message', checkOpts);
        if (errors.length) {
          // A response_url answers like an incoming webhook: HTTP 400 with the error as text.
          const r = { where: 'response_url', errors, payload: response.body };
          (checkMessage(response.body).length ? refused : declined).push(r);
          notify();
          publish({ kind: 'refused', refused: r });
          res.writeHead(400, { 'content-type': 'text/plain' }).end('invalid_blocks');
          return;
        }
        responses.push(response);
        notify();
        publish({ kind: 'response', response });
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
        return;
      }
      const method = url.replace(/^\/api\//, '').split('?')[0] ?? '';
      const args = decodeArgs(req.headers['content-type'], raw);
      const call: SlackCall = { method, authorization: req.headers.authorization, contentType: req.headers['content-type'], args, at: Date.now() };
      calls.push(call);
      notify();
      const held = holds.find((h) => h.remaining > 0 && h.method === method && (!h.match || h.match(args)));
      if (held) {
        held.remaining -= 1;
        return;
      }
      const queue = failures.get(method);
      const failure = queue?.[0];
      if (failure) {
        failure.remaining -= 1;
        if (failure.remaining <= 0) queue.shift();
        if (failure.status === 429) {
          res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(failure.retryAfter ?? 1) });
          res.end(JSON.stringify({ ok: false, error: 'ratelimited' }));
          return;
        }
        res.writeHead(failure.status ?? 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: false, error: failure.error ?? 'internal_error' }));
        return;
      }
      const auth = req.headers.authorization;
      // As in Slack: apps.connections.open takes the app-level token, every other method the bot's.
      const wanted = method === 'apps.connections.open' ? 'Bearer xapp-' : 'Bearer xoxb-';
      if (method !== 'auth.test' && method !== '' && !auth?.startsWith(wanted)) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: false, error: 'not_authed' }));
        return;
      }
      const invalid = blockKitErrors(method, args, checkOpts);
      if (invalid.length) {
        const r = { where: method, errors: invalid, payload: args };
        (blockKitErrors(method, args, {}).length ? refused : declined).push(r);
        notify();
        publish({ kind: 'refused', refused: r });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: false, error: 'invalid_blocks', errors: invalid, response_metadata: { messages: slackErrorMessages(invalid) } }));
        return;
      }
      if ((method === 'chat.postMessage' || method === 'chat.postEphemeral') && !args.text && !(Array.isArray(args.blocks) && args.blocks.length)) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: false, error: 'no_text' }));
        return;
      }
      const result = answer(method, args);
      const warning = result.ok === true ? warnings.find((w) => w.remaining > 0 && w.method === method) : undefined;
      if (warning) {
        warning.remaining -= 1;
        // Slack's shape: a `warning` string and the same in response_metadata.warnings.
        result.warning = warning.warning;
        result.response_metadata = { warnings: [warning.warning] };
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(result));
      if (result.ok === true) publish({ kind: 'call', call, result });
    })().catch((err: unknown) => {
      res.writeHead(500).end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  const waitUntil = <T>(find: () => T | undefined, what: string, timeoutMs: number): Promise<T> =>
    new Promise((resolve, reject) => {
      const found = find();
      if (found !== undefined) return resolve(found);
      const timer = setTimeout(() => reject(new Error(`fake Slack: timed out waiting for ${what}`)), timeoutMs);
      const check = () => {
        const hit = find();
        if (hit !== undefined) {
          clearTimeout(timer);
          resolve(hit);
        } else waiters.push(check);
      };
      waiters.push(check);
    });

  return {
    apiUrl: `http://127.0.0.1:${port}/api/`,
    responseUrlBase: `http://127.0.0.1:${port}/respond/`,
    teamId,
    botUserId,
    calls,
    responses,
    refused,
    declined,
    messages,
    views,
    issueTrigger() {
      const id = `${++tsCounter}.${Date.now()}.${Math.random().toString(16).slice(2, 14)}`;
      triggers.set(id, { issuedAt: Date.now(), used: false, expired: false });
      return id;
    },
    expireTrigger(id) {
      const t = triggers.get(id);
      if (t) t.expired = true;
    },
    homeView: (userId) => homes.get(userId),
    addUser: (user) => void users.set(user.id, user),
    knowsUser: (id) => users.has(id),
    setSocketModeUrl: (url) => {
      socketUrl = url;
    },
    setUsergroup: (groupId, members) => void groups.set(groupId, members),
    fail(method, failure, times = 1) {
      const queue = failures.get(method) ?? [];
      queue.push({ ...failure, remaining: times });
      failures.set(method, queue);
    },
    hold(method, times = 1, match) {
      holds.push({ method, remaining: times, ...(match ? { match } : {}) });
    },
    refuseBlockTypes(types) {
      checkOpts.unsupported = new Set(types);
    },
    warn(method, warning, times = 1) {
      warnings.push({ method, warning, remaining: times });
    },
    callsTo: (method) => calls.filter((c) => c.method === method),
    waitFor: (method, pred = () => true, timeoutMs = 5_000) =>
      waitUntil(() => calls.find((c) => c.method === method && pred(c)), method, timeoutMs),
    waitForResponse: (pred = () => true, timeoutMs = 5_000) =>
      waitUntil(() => responses.find(pred), 'a response_url post', timeoutMs),
    message: (channel, ts) => messages.get(`${channel}/${ts}`),
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    reset() {
      calls.length = 0;
      responses.length = 0;
      refused.length = 0;
      declined.length = 0;
      messages.clear();
      triggers.clear();
      homes.clear();
      views.clear();
      failures.clear();
      holds.length = 0;
      warnings.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface SlashCommandFields {
  text: string;
  userId: string;
  userName: string;
  teamId: string;
  channelId: string;
  channelName: string;
  responseUrl: string;
  /** From `issueTrigger`, so the command may open a modal. */
  triggerId?: string;
}

/** A `/zoomjwt` invocation as Slack posts it (form-encoded). */
export function slashCommandBody(f: SlashCommandFields): string {
  return new URLSearchParams({
    token: 'deprecated-verification-token',
    team_id: f.teamId,
    team_domain: 'sandbox',
    channel_id: f.channelId,
    channel_name: f.channelName,
    user_id: f.userId,
    user_name: f.userName,
    command: '/zoomjwt',
    text: f.text,
    api_app_id: 'A0ZOOMJWT',
    is_enterprise_install: 'false',
    response_url: f.responseUrl,
    trigger_id: f.triggerId ?? `${Date.now()}.sandbox`,
  }).toString();
}

export interface BlockActionFields {
  userId: string;
  userName: string;
  teamId: string;
  channelId: string;
  channelName: string;
  /** The message the button is on, as Slack includes it. */
  message: { ts: string; text: string; blocks: unknown[] };
  button: { actionId: string; value: string; blockId: string; label: string };
  responseUrl: string;
  /** Unix seconds with fraction, as a string (`action_ts`). */
  actionTs: string;
  /** From `issueTrigger`, so the button may open a modal. */
  triggerId?: string;
  /** Pressed in the Home tab rather than on a message. */
  home?: boolean;
}

/** A button press as Slack posts it: `payload=<block_actions JSON>`. */
export function blockActionsBody(f: BlockActionFields): string {
  const payload = {
    type: 'block_actions',
    user: { id: f.userId, username: f.userName, name: f.userName, team_id: f.teamId },
    api_app_id: 'A0ZOOMJWT',
    token: 'deprecated-verification-token',
    container: f.home ? { type: 'view', view_id: 'V0HOME' } : { type: 'message', message_ts: f.message.ts, channel_id: f.channelId, is_ephemeral: false },
    trigger_id: f.triggerId ?? `${f.actionTs}.sandbox`,
    team: { id: f.teamId, domain: 'sandbox' },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: f.channelId, name: f.channelName },
    message: { type: 'message', ts: f.message.ts, text: f.message.text, blocks: f.message.blocks },
    state: { values: {} },
    response_url: f.responseUrl,
    actions: [
      {
        type: 'button',
        action_id: f.button.actionId,
        block_id: f.button.blockId,
        value: f.button.value,
        text: { type: 'plain_text', text: f.button.label },
        action_ts: f.actionTs,
      },
    ],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** `app_home_opened` as the Events API delivers it (JSON). */
export function homeOpenedBody(f: { userId: string; teamId: string; eventTs: string }): string {
  return JSON.stringify({
    token: 'deprecated-verification-token', team_id: f.teamId, api_app_id: 'A0ZOOMJWT', type: 'event_callback',
    event: { type: 'app_home_opened', user: f.userId, channel: `D${f.userId.slice(1)}`, tab: 'home', event_ts: f.eventTs },
    event_id: `Ev${f.eventTs.replace('.', '')}`, event_time: Math.floor(Number(f.eventTs)),
  });
}

/** A modal's submission as Slack posts it: `payload=<view_submission JSON>`. */
export function viewSubmissionBody(f: { userId: string; userName: string; teamId: string; viewId: string; view: Record<string, unknown>; values: Record<string, Record<string, { type: string; value: string }>> }): string {
  const payload = {
    type: 'view_submission',
    team: { id: f.teamId, domain: 'sandbox' },
    user: { id: f.userId, username: f.userName, name: f.userName, team_id: f.teamId },
    api_app_id: 'A0ZOOMJWT',
    token: 'deprecated-verification-token',
    trigger_id: `${Date.now()}.submit`,
    view: { ...f.view, id: f.viewId, state: { values: f.values }, hash: `${Date.now()}.h` },
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** POSTs a signed form body (or JSON, for events); resolves with the HTTP status and the parsed JSON answer, if any. */
export async function sendSigned(
  url: string,
  body: string,
  opts: { signingSecret: string; timestampS: number; json?: boolean },
): Promise<{ status: number; json: Record<string, unknown> | undefined }> {
  const answer = await postSigned(url, body, {
    signingSecret: opts.signingSecret,
    timestamp: opts.timestampS,
    contentType: opts.json ? 'application/json' : undefined,
  });
  return { status: answer.status, json: jsonOrUndefined(answer.body) };
}
