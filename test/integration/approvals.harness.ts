/**
 * Shared arrangement for the approval tests: the real app booted against fake Slack and fake
 * Zoom, the people of the workspace, tracked apps seeded through the app store, and helpers that
 * click like Slack does and wait for the visible outcome (the ephemeral answer, the card).
 */
import { bootApp, startTestZoom, visibleText, zoomEnv, type Booted } from '../helpers/boot';
import { ACCOUNT_ID } from '../helpers/env';
import { until } from '../helpers/polls';
import { startFakeSlack, type FakeSlack, type StoredMessage } from '../../dev/fakes/slackServer';
import type { FakeZoom } from '../../dev/fakes/zoomServer';
import type { StartOptions } from '../../src/main';
import type { StoredRequest } from '../../src/capabilities/approvals/rules/approval';
import { createRequestStore, type RequestStore } from '../../src/capabilities/approvals/stores/requests';
import { recordCleanRead } from '../helpers/pollFixture';

export const DAY = 86_400_000;

/** Everyone the fake workspace knows. Approvers (by APPROVERS below) include the bad accounts on purpose. */
export const PEOPLE = {
  alice: 'U0ALICE',
  bob: 'U0BOB',
  carol: 'U0CAROL',
  dave: 'U0DAVE',
  mallory: 'U0MALLORY',
  guest: 'U0GUEST',
  gone: 'U0GONE',
  robot: 'U0ROBOT',
  foreign: 'U0FOREIGN',
} as const;

/** Ten extra approvers for the concurrency tests. */
export const CROWD = Array.from({ length: 10 }, (_, i) => `U0CROWD${i}`);

const APPROVERS = [PEOPLE.bob, PEOPLE.carol, PEOPLE.dave, PEOPLE.guest, PEOPLE.gone, PEOPLE.robot, PEOPLE.foreign, ...CROWD].join(',');

export function addPeople(slack: FakeSlack): void {
  for (const id of [PEOPLE.alice, PEOPLE.bob, PEOPLE.carol, PEOPLE.dave, PEOPLE.mallory, ...CROWD]) slack.addUser({ id });
  slack.addUser({ id: PEOPLE.guest, is_restricted: true });
  slack.addUser({ id: PEOPLE.gone, deleted: true });
  slack.addUser({ id: PEOPLE.robot, is_bot: true });
  slack.addUser({ id: PEOPLE.foreign, team_id: 'T0OTHER' });
}

export interface Harness {
  b: Booted;
  zoom: FakeZoom;
  slack: FakeSlack;
  store: RequestStore;
  stop(): Promise<void>;
}

export async function startFakes(): Promise<{ zoom: FakeZoom; slack: FakeSlack }> {
  const zoom = await startTestZoom();
  const slack = await startFakeSlack();
  addPeople(slack);
  return { zoom, slack };
}

export function harnessEnv(zoom: FakeZoom, env: Record<string, string> = {}): Record<string, string> {
  return {
    ...zoomEnv(zoom),
    // Polling stays out of the way (POLL_EVERY=0 is refused by config today; see the report).
    POLL_EVERY: '24h',
    APPROVERS,
    LOG_LEVEL: 'warn',
    ...env,
  };
}

/** One app process on the given fakes (several may share a REDIS_PREFIX). */
export async function bootOn(
  name: string,
  fakes: { zoom: FakeZoom; slack: FakeSlack },
  env: Record<string, string> = {},
  options: StartOptions = {},
): Promise<Booted> {
  return bootApp(name, harnessEnv(fakes.zoom, env), { ...options, slack: fakes.slack, zoom: fakes.zoom });
}

export async function startHarness(name: string, env: Record<string, string> = {}, options: StartOptions = {}): Promise<Harness> {
  const fakes = await startFakes();
  let b: Booted;
  try {
    b = await bootOn(name, fakes, env, options);
  } catch (err) {
    await fakes.slack.close();
    await fakes.zoom.close();
    throw err;
  }
  const store = createRequestStore(b.running.services.redis, b.running.services.keys);
  return {
    b,
    ...fakes,
    store,
    async stop() {
      await b.stop();
      await fakes.slack.close();
      await fakes.zoom.close();
    },
  };
}

let appCounter = 0;
/**
 * A tracked app in the given state; `disabledAgoMs` sets the soak clock's start. The app also
 * exists in fake Zoom (the booted app's, or `zoom`) unless `inZoom: false`: a poll would otherwise
 * mark it gone.
 */
export async function seedApp(
  b: Booted,
  opts: { state?: 'active' | 'disabled'; disabledAgoMs?: number; name?: string; inZoom?: boolean; zoom?: FakeZoom } = {},
): Promise<{ appId: string; name: string }> {
  appCounter += 1;
  const appId = `app${appCounter}${Math.random().toString(36).slice(2, 8)}`;
  const name = opts.name ?? `Legacy JWT ${appCounter}`;
  const s = b.running.services;
  await s.apps.track({ appId, account: 'default', name, trackedBy: 'test' }, s.clock());
  if (opts.state === 'disabled') {
    const at = s.clock() - (opts.disabledAgoMs ?? 8 * DAY);
    await s.apps.transition(appId, 'active', 'disabled', { disabledAt: at, disabledBy: PEOPLE.dave });
  }
  if (opts.inZoom !== false) (opts.zoom ?? b.zoom)?.addApp(ACCOUNT_ID, { app_id: appId, app_name: name });
  // A removal needs a clean read of the app's call logs (SPEC §4.3): record one that found nothing.
  if (opts.state === 'disabled') await recordCleanRead(s.usage, appId, s.clock());
  return { appId, name };
}

/** Runs a slash command as `user`; returns the visible answer and the request id it names. */
export async function command(b: Booted, text: string, user: string = PEOPLE.alice): Promise<{ text: string; id?: string }> {
  const res = await b.command(text, { user_id: user });
  if (res.status !== 200) throw new Error(`command answered HTTP ${res.status}`);
  const shown = visibleText(res.json);
  const id = /Request `(R[0-9A-F]+)`/.exec(shown)?.[1];
  return { text: shown, ...(id ? { id } : {}) };
}

/** Opens a request and returns its id (fails the test when refused). */
export async function openRequest(b: Booted, text: string, user: string = PEOPLE.alice): Promise<string> {
  const answer = await command(b, text, user);
  if (!answer.id) throw new Error(`request was not opened: ${answer.text}`);
  return answer.id;
}

let clickCounter = 0;
/** How long each click's HTTP answer (the ack) took, in ms, in order. */
export const ackTimes: number[] = [];
/**
 * Clicks a card button as `user` and resolves with the ephemeral answer sent to this click's own
 * response_url (each click gets a unique one, as in Slack).
 */
export async function click(b: Booted, actionId: string, value: string, user: string): Promise<string> {
  clickCounter += 1;
  const path = `click-${clickCounter}`;
  const res = await b.click({ action_id: actionId, value, user_id: user, response_url: `${b.slack.responseUrlBase}${path}` });
  if (res.status !== 200) throw new Error(`click answered HTTP ${res.status}`);
  ackTimes.push(res.ms);
  const answer = await b.slack.waitForResponse((r) => r.path === `/respond/${path}`, 10_000);
  if (answer.body.response_type !== 'ephemeral' || answer.body.replace_original !== false) {
    throw new Error(`click answer was not a separate ephemeral message: ${JSON.stringify(answer.body).slice(0, 200)}`);
  }
  return String(answer.body.text ?? '');
}

export async function waitForStatus(store: RequestStore, id: string, status: StoredRequest['status']): Promise<StoredRequest> {
  return until(async () => {
    const req = await store.get(id);
    return req?.status === status ? req : undefined;
  }, `request ${id} to be ${status}`);
}

/** The card as Slack currently shows it. */
export async function card(h: Pick<Harness, 'store' | 'slack'>, id: string): Promise<StoredMessage> {
  const req = await h.store.get(id);
  if (!req?.channel || !req.ts) throw new Error(`request ${id} has no card`);
  const msg = h.slack.message(req.channel, req.ts);
  if (!msg) throw new Error(`card of ${id} not found in fake Slack`);
  return msg;
}

/** Action ids of every button on a message. */
export function buttons(msg: StoredMessage): string[] {
  const out: string[] = [];
  for (const block of msg.blocks as Array<{ type: string; elements?: Array<{ type: string; action_id?: string }>; accessory?: { action_id?: string } }>) {
    for (const el of block.elements ?? []) if (el.type === 'button' && el.action_id) out.push(el.action_id);
    if (block.accessory?.action_id) out.push(block.accessory.action_id);
  }
  return out;
}

export const cardText = (msg: StoredMessage): string => visibleText(msg);
