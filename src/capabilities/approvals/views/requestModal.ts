/**
 * The request form's views (issue 16), pure: the form itself with the evidence and what will
 * happen, the notices a modal shows instead, and what the modal keeps in `private_metadata`.
 * modal.ts opens them and handles the submission.
 */
import type { types } from '@slack/bolt';
import { inline, REQUEST_TITLE as TITLE, stateText, type TrackedApp } from '../../evidence';
import type { RequestEvidence } from '../rules/approval';
import { truncate } from '../../../kernel/format';
import type { RequestAction } from '../rules/request';
import { section, type Block } from '../../../platform/slack/blocks';
import { INPUT, VIEW } from '../../../platform/slack/ids';
import { ACTION_TITLE, evidenceFields, whatWillHappen } from './card';

export type ModalView = types.ModalView;

/** The actions a form opens a request for; the Home menu's values and the metadata name one. */
export const ACTIONS: readonly RequestAction[] = ['disable', 'enable', 'remove'];
export const isAction = (v: unknown): v is RequestAction => typeof v === 'string' && (ACTIONS as readonly string[]).includes(v);

/** Longest reason the form takes (the card keeps 500 characters; Slack enforces this client-side). */
export const REASON_MAX = 500;

const plain = (text: string) => ({ type: 'plain_text' as const, text, emoji: true });

/** What the modal is about, as kept in `private_metadata`: nothing else is read from it. */
export function modalMetadata(action: RequestAction, appId: string): string {
  return JSON.stringify({ action, appId });
}

export function parseMetadata(raw: unknown): { action: RequestAction; appId: string } | undefined {
  if (typeof raw !== 'string' || raw.length > 3000) return undefined;
  try {
    const m = JSON.parse(raw) as { action?: unknown; appId?: unknown };
    if (!isAction(m.action) || typeof m.appId !== 'string' || m.appId === '' || m.appId.length > 200) return undefined;
    return { action: m.action, appId: m.appId };
  } catch {
    return undefined;
  }
}

/** The form: the app, its evidence, what will happen, the reason, and for remove the typed name. */
export function requestModalView(
  action: RequestAction,
  app: TrackedApp,
  evidence: RequestEvidence,
  opts: { now: number; mode: 'dry-run' | 'live'; soakPeriodMs: number },
): ModalView {
  const blocks: Block[] = [
    section(`*${ACTION_TITLE[action]} ${inline(app.name, 200)}* \`${inline(app.appId, 128)}\`\n${stateText(app, opts.now, opts.soakPeriodMs)}`),
  ];
  const ev = evidenceFields({ evidence }, opts.now);
  if (ev) blocks.push(ev);
  blocks.push(section(`*What will happen*\n${whatWillHappen({ action, appName: app.name, appId: app.appId }, opts.mode)}`));
  blocks.push({
    type: 'input',
    block_id: INPUT.reason.block,
    label: plain('Reason'),
    hint: plain('Goes on the card and in the audit log.'),
    element: {
      type: 'plain_text_input',
      action_id: INPUT.reason.element,
      multiline: true,
      max_length: REASON_MAX,
      placeholder: plain(action === 'enable' ? 'Why does it need to come back?' : 'Why is it safe to do this?'),
    },
  });
  if (action === 'remove') {
    blocks.push(section(`Removal is permanent. To confirm, type the app's exact name: *${inline(app.name, 200)}*`));
    blocks.push({
      type: 'input',
      block_id: INPUT.confirm.block,
      label: plain("The app's exact name"),
      element: { type: 'plain_text_input', action_id: INPUT.confirm.element, max_length: 300 },
    });
  }
  return {
    type: 'modal',
    callback_id: VIEW.request,
    private_metadata: modalMetadata(action, app.appId),
    title: plain(TITLE[action]),
    submit: plain('Open request'),
    close: plain('Cancel'),
    blocks,
  };
}

/** A modal that only says something (a refusal, the outcome). */
export function noticeView(title: string, mrkdwn: string): ModalView {
  return { type: 'modal', title: plain(truncate(title, 24)), close: plain('Close'), blocks: [section(mrkdwn)] };
}

/** Slack shows field errors as plain text: the mrkdwn of a refusal, made readable. */
export function plainText(mrkdwn: string): string {
  const text = mrkdwn
    .replace(/<([^<>|]+)\|([^<>]+)>/g, '$2')
    .replace(/:[a-z0-9_+-]+:\s*/g, '')
    .replace(/[*`]/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .trim();
  return truncate(text, 1000);
}
