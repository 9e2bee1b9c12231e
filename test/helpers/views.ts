/**
 * Slack's payloads for the Home tab and modals, as Slack sends them: the `app_home_opened` event
 * (Events API JSON over HTTP, an `events_api` envelope in Socket Mode), a `view_submission` and a
 * button press carrying a trigger id. Posted signed over HTTP by `postEvent` / `postInteraction`.
 */
import { INPUT, VIEW } from '../../src/platform/slack/ids';
import { postSignedAs } from './signed';

export function homeOpenedEvent(user: string, tab: 'home' | 'messages' = 'home', team = 'T0TEST'): Record<string, unknown> {
  return {
    token: 'deprecated-verification-token',
    team_id: team,
    api_app_id: 'A0ZOOMJWT',
    event: { type: 'app_home_opened', user, channel: `D0${user.slice(2)}`, tab, event_ts: `${Date.now() / 1000}` },
    type: 'event_callback',
    event_id: `Ev${Math.random().toString(36).slice(2, 10).toUpperCase()}`,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ team_id: team, user_id: 'U0BOT', is_bot: true, is_enterprise_install: false }],
  };
}

export function viewSubmission(opts: {
  user: string;
  metadata: string;
  reason?: string;
  confirm?: string;
  viewId?: string;
  callbackId?: string;
  team?: string;
}): Record<string, unknown> {
  const values: Record<string, Record<string, { type: string; value: string | null }>> = {
    [INPUT.reason.block]: { [INPUT.reason.element]: { type: 'plain_text_input', value: opts.reason ?? null } },
  };
  if (opts.confirm !== undefined) values[INPUT.confirm.block] = { [INPUT.confirm.element]: { type: 'plain_text_input', value: opts.confirm } };
  const team = opts.team ?? 'T0TEST';
  return {
    type: 'view_submission',
    team: { id: team, domain: 'fake' },
    user: { id: opts.user, username: 'someone', name: 'someone', team_id: team },
    api_app_id: 'A0ZOOMJWT',
    token: 'deprecated-verification-token',
    trigger_id: '123.456.submit',
    view: {
      id: opts.viewId ?? 'V0MODAL', team_id: team, type: 'modal', callback_id: opts.callbackId ?? VIEW.request,
      private_metadata: opts.metadata, hash: '1700000000.abc', blocks: [], state: { values },
      title: { type: 'plain_text', text: 'Request' }, app_id: 'A0ZOOMJWT', bot_id: 'B0BOT',
    },
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  };
}

/** A press of a button (or an overflow option) in the Home tab or a message, with its trigger id. */
export function pressPayload(opts: { user: string; actionId: string; value: string; triggerId: string; overflow?: boolean; home?: boolean }): Record<string, unknown> {
  const action = opts.overflow
    ? { type: 'overflow', action_id: opts.actionId, block_id: 'b1', selected_option: { text: { type: 'plain_text', text: 'x' }, value: opts.value }, action_ts: `${Date.now() / 1000}` }
    : { type: 'button', action_id: opts.actionId, block_id: 'b1', value: opts.value, text: { type: 'plain_text', text: 'x' }, action_ts: `${Date.now() / 1000}` };
  return {
    type: 'block_actions',
    user: { id: opts.user, username: 'someone', name: 'someone', team_id: 'T0TEST' },
    api_app_id: 'A0ZOOMJWT',
    token: 'deprecated-verification-token',
    container: opts.home ? { type: 'view', view_id: 'V0HOME' } : { type: 'message', message_ts: '1700000001.000001', channel_id: 'C0CMD', is_ephemeral: true },
    trigger_id: opts.triggerId,
    team: { id: 'T0TEST', domain: 'fake' },
    enterprise: null,
    is_enterprise_install: false,
    ...(opts.home ? { view: { id: 'V0HOME', type: 'home', callback_id: '', private_metadata: '', state: { values: {} } } } : { channel: { id: 'C0CMD', name: 'ops' } }),
    state: { values: {} },
    actions: [action],
  };
}

/** An Events API delivery (JSON), signed. */
export const postEvent = (baseUrl: string, event: Record<string, unknown>) => postSignedAs(`${baseUrl}/slack/events`, JSON.stringify(event), 'application/json');

/** An interaction (`payload=` form field), signed. */
export const postInteraction = (baseUrl: string, payload: Record<string, unknown>) =>
  postSignedAs(`${baseUrl}/slack/events`, new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), 'application/x-www-form-urlencoded');
