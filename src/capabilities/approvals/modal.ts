/**
 * The request form (issue 16): `/zoomjwt disable|enable|remove <app>` without a reason, and the
 * Request buttons of the app detail and the Home tab, open a modal that shows the evidence and
 * asks for the reason (and, for remove, the app's exact name typed as the confirmation).
 *
 * The modal is opened first (`views.open`, the trigger lasts 3 s) from stored data only. Its
 * submission is signed by Slack like any interaction, and still trusted for nothing but which
 * app and action it is about: the person's role is checked again, the app is read again by id,
 * and the request goes through `ApprovalFlow.tryOpen`, the command's own path, whose refusals
 * come back into the modal as field errors.
 */
import type { App, BlockAction, BlockButtonAction, BlockOverflowAction } from '@slack/bolt';
import { REQUEST_TITLE as TITLE } from '../evidence';
import { truncate } from '../../kernel/format';
import type { RequestAction } from './rules/request';
import type { ApprovalServices as Services } from './services';
import type { ApprovalFlow, OpenOutcome, RequestForm } from './flow';
import { notice } from '../../platform/slack/blocks';
import { HOME_ACTION, INPUT, REQUEST_ACTION, VIEW } from '../../platform/slack/ids';
import { ACTIONS, isAction, noticeView, parseMetadata, plainText, REASON_MAX, requestModalView, type ModalView } from './views/requestModal';
import { slackErrorText } from '../../platform/slack/errors';

/** A submission whose request takes longer than this is answered "working on it" (Slack waits 3 s). */
const SUBMIT_BUDGET_MS = 2_000;

export interface RequestModal {
  form: RequestForm;
  register(app: App): void;
}

export function createRequestModal(s: Services, flow: ApprovalFlow): RequestModal {
  const log = s.log.child({ feature: 'request-modal' });

  async function views(kind: 'open' | 'update', args: { trigger_id?: string; view_id?: string; view: ModalView }): Promise<boolean> {
    try {
      if (kind === 'open') await s.slack.views.open({ trigger_id: args.trigger_id ?? '', view: args.view });
      else await s.slack.views.update({ view_id: args.view_id ?? '', view: args.view });
      return true;
    } catch (err) {
      log.warn({ err: { message: slackErrorText(err) } }, `views.${kind} failed`);
      return false;
    }
  }

  const form: RequestForm = {
    async open(triggerId, action, app) {
      const now = s.clock();
      // Stored data only (a few Redis reads): the trigger's 3 s are for Slack, not for Zoom.
      const { evidence } = await flow.evidenceFor(app, now);
      const view = requestModalView(action, app, evidence, { now, mode: s.config.actionsMode, soakPeriodMs: s.config.soakPeriodMs });
      return views('open', { trigger_id: triggerId, view });
    },
  };

  /** A member check for a way in; a refusal is counted and, as an attempt to change state, audited. */
  async function memberCheck(userId: string, what: string, appId: string): Promise<{ ok: true } | { ok: false; message: string }> {
    const verdict = await s.access.check(userId, 'member');
    if (verdict.ok) return verdict;
    s.metrics.accessRefusals.inc({ action: what, code: verdict.code });
    if (verdict.code !== 'unavailable') {
      await flow.audit({
        type: 'access.refused', actor: userId,
        summary: `<@${userId}> was refused ${what} for ${appId} (${verdict.code})`, details: { action: what, code: verdict.code },
      });
    }
    return { ok: false, message: verdict.message };
  }

  /** A Request button (app detail) or the Home tab's menu: open the form for that app. */
  async function onRequest(body: BlockAction, action: RequestAction, appId: string): Promise<void> {
    const triggerId = body.trigger_id;
    const userId = body.user.id;
    const allowed = await memberCheck(userId, `request_${action}`, appId);
    if (!allowed.ok) {
      await views('open', { trigger_id: triggerId, view: noticeView('Not for you', allowed.message) });
      return;
    }
    const app = await s.apps.get(appId);
    if (!app) {
      await views('open', { trigger_id: triggerId, view: noticeView('App not tracked', 'That app is no longer tracked. Nothing was opened.') });
      return;
    }
    await form.open(triggerId, action, app, userId);
  }

  /** The requester hears where the card is in the bot's DM (a modal has no channel to answer in). */
  async function tellOpened(userId: string, outcome: OpenOutcome): Promise<void> {
    try {
      await s.slack.chat.postMessage({ channel: userId, text: outcome.message.text, blocks: outcome.message.blocks ?? [] });
    } catch (err) {
      log.warn({ err: { message: slackErrorText(err) } }, 'could not tell the requester where the card is');
    }
  }

  function register(app: App): void {
    for (const action of ACTIONS) {
      app.action<BlockButtonAction>(REQUEST_ACTION[action], async ({ ack, body }) => {
        await ack();
        await onRequest(body, action, body.actions[0]?.value ?? '').catch((err: unknown) => log.error({ err }, 'request button failed'));
      });
    }
    app.action<BlockOverflowAction>(HOME_ACTION.request, async ({ ack, body }) => {
      await ack();
      const value = body.actions[0]?.selected_option?.value ?? '';
      const colon = value.indexOf(':');
      const action = value.slice(0, colon);
      if (colon < 0 || !isAction(action)) return;
      await onRequest(body, action, value.slice(colon + 1)).catch((err: unknown) => log.error({ err }, 'home request menu failed'));
    });

    app.view(VIEW.request, async ({ ack, body, view }) => {
      const userId = body.user.id;
      const errors = (block: string, text: string) => ack({ response_action: 'errors', errors: { [block]: truncate(text, 1000) } });
      const meta = parseMetadata(view.private_metadata);
      if (!meta) return errors(INPUT.reason.block, 'This form is out of date. Close it and start again. Nothing was opened.');
      // Signed by Slack, but who submits still has to be allowed to ask, now.
      const allowed = await memberCheck(userId, `request_${meta.action}`, meta.appId);
      if (!allowed.ok) return errors(INPUT.reason.block, plainText(allowed.message));
      const target = await s.apps.get(meta.appId);
      if (!target) return errors(INPUT.reason.block, 'That app is no longer tracked. Nothing was opened.');
      const values = view.state?.values ?? {};
      const reasonValue = values[INPUT.reason.block]?.[INPUT.reason.element]?.value;
      const reason = typeof reasonValue === 'string' ? reasonValue : '';
      if (reason.trim() === '') return errors(INPUT.reason.block, 'A reason is required: it goes on the card and in the audit log. Nothing was opened.');
      if (reason.length > REASON_MAX) return errors(INPUT.reason.block, `Keep the reason to ${REASON_MAX} characters. Nothing was opened.`);
      if (meta.action === 'remove') {
        const typed = values[INPUT.confirm.block]?.[INPUT.confirm.element]?.value;
        if (typeof typed !== 'string' || typed.trim() !== target.name.trim()) {
          return errors(INPUT.confirm.block, "That is not the app's exact name (it is shown above the field). Nothing was opened.");
        }
      }

      const work = flow.tryOpen(meta.action, target, reason, userId).catch((err: unknown): OpenOutcome => {
        log.error({ err }, 'request from the form failed');
        return { opened: false, message: notice('Something went wrong on our side and nothing was opened. Try again in a minute.') };
      });
      let timer: NodeJS.Timeout | undefined;
      const overrun = new Promise<'overrun'>((resolve) => {
        timer = setTimeout(() => resolve('overrun'), SUBMIT_BUDGET_MS);
      });
      const first = await Promise.race([work, overrun]).finally(() => clearTimeout(timer));
      if (first !== 'overrun') {
        if (!first.opened) return errors(INPUT.reason.block, plainText(first.message.text));
        await ack();
        await tellOpened(userId, first);
        return;
      }
      // Slack stops waiting at 3 s: the modal says "working on it" and shows the outcome later.
      await ack({ response_action: 'update', view: noticeView(TITLE[meta.action], ':hourglass_flowing_sand: Opening the request…') });
      const late = await work;
      await views('update', { view_id: body.view.id, view: noticeView(TITLE[meta.action], late.message.text) });
      if (late.opened) await tellOpened(userId, late);
    });
  }

  return { form, register };
}

