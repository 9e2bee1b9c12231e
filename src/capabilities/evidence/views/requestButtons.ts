/**
 * The Request buttons an app shows (app detail, Home tab): one per action its state allows. The
 * approvals capability opens the form they lead to.
 */
import type { types } from '@slack/bolt';
import { button } from '../../../platform/slack/blocks';
import { REQUEST_ACTION } from '../../../platform/slack/ids';
import { requestActionsFor, type RequestAction, type TrackedApp } from '../rules/app';

export const REQUEST_TITLE: Record<RequestAction, string> = { disable: 'Request disable', enable: 'Request enable', remove: 'Request removal' };

/** The Request buttons of the app detail (value: the app id). */
export function requestButtons(app: TrackedApp): types.Button[] {
  return requestActionsFor(app).map((action) =>
    button(REQUEST_TITLE[action], REQUEST_ACTION[action], app.appId, action === 'remove' ? 'danger' : undefined),
  );
}
