/**
 * The approval card (SPEC §5.1) in every state. Rendered only from the stored request, so any
 * process can redraw it after any transition. Only a pending card has Approve/Reject/Cancel, only
 * an operator step has Done; every other state has no buttons at all, so nothing looks live.
 */
import type { types } from '@slack/bolt';
import { actionPhrase, operatorDeadlineOf, operatorSteps, type StoredRequest } from '../rules/approval';
import { formatDuration } from '../../../kernel/duration';
import { escapeMrkdwn, formatCount, timeAgo, timeUntil, truncate } from '../../../kernel/format';
import { MARKETPLACE_CREATED_APPS_URL } from '../../evidence';
import type { RequestStatus } from '../rules/request';
import { ACTION } from '../../../platform/slack/ids';
import { actions, button, context, divider, fields, header, message, section, slackTime, type Block, type SlackMessage } from '../../../platform/slack/blocks';

const STATUS_LINE: Record<RequestStatus, string> = {
  pending: ':hourglass_flowing_sand: *Waiting for approvals*',
  approved: ':white_check_mark: *Approved* — being carried out now',
  awaiting_operator: ':raising_hand: *Approved* — waiting for a person to do it in the Marketplace',
  executed: ':white_check_mark: *Done*',
  rejected: ':no_entry: *Rejected*',
  cancelled: ':wastebasket: *Cancelled* by the requester',
  expired: ':alarm_clock: *Expired* — no decision before the deadline',
  aborted: ':octagonal_sign: *Stopped at execution* — nothing was done',
  failed: ':x: *Failed*',
};

export const ACTION_TITLE = { disable: 'Disable', enable: 'Re-enable', remove: 'Remove' } as const;

/** The card's title as mrkdwn (the fallback text, which Slack also reads for notifications). */
export function cardTitle(req: Pick<StoredRequest, 'action' | 'appName'>): string {
  return `${ACTION_TITLE[req.action]} ${escapeMrkdwn(req.appName)}?`;
}

export function whatWillHappen(req: Pick<StoredRequest, 'action' | 'appName' | 'appId'>, mode: 'dry-run' | 'live'): string {
  const app = `*${escapeMrkdwn(req.appName)}*`;
  if (req.action === 'remove') {
    return mode === 'live'
      ? `On approval zoomjwt sends \`DELETE /marketplace/apps/${req.appId}\`: ${app} is removed from Zoom *permanently*. Nothing can bring it back.`
      : `*DRY-RUN mode*: on approval zoomjwt only reports what it would do (\`DELETE /marketplace/apps/${req.appId}\`, removing ${app} permanently); nothing is sent to Zoom.`;
  }
  const verb = req.action === 'disable' ? 'disable' : 'enable';
  const effect = req.action === 'disable' ? 'anything still using it starts failing (reversible with `/zoomjwt enable`), and the soak clock starts' : 'its callers work again';
  const dry = mode === 'dry-run' ? ' (Zoom has no API for this, so it is a person\'s step even in DRY-RUN mode.)' : '';
  return `On approval a person is asked to ${verb} ${app} in the Zoom Marketplace and press *Done*: ${effect}.${dry}`;
}

export function evidenceFields(req: Pick<StoredRequest, 'evidence'>, now: number): Block | undefined {
  const e = req.evidence;
  if (!e) return undefined;
  const soak =
    e.disabledAt === undefined
      ? 'not disabled'
      : now - e.disabledAt >= e.soakPeriodMs
        ? `disabled ${timeAgo(e.disabledAt, now)}; soak of ${formatDuration(e.soakPeriodMs)} done`
        : `disabled ${timeAgo(e.disabledAt, now)}; soak ends ${timeUntil(e.disabledAt + e.soakPeriodMs, now)}`;
  const top = e.topEndpoints.length
    ? e.topEndpoints.map((t) => `\`${escapeMrkdwn(t.key)}\` ${formatCount(t.count)}`).join('\n')
    : 'none in 7 days';
  return fields([
    `*Calls 24 h / 7 d*\n${formatCount(e.calls24h)} / ${formatCount(e.calls7d)}`,
    `*Last call*\n${e.lastCall ? `${timeAgo(e.lastCall, now)}${e.lastSuccess ? ` (last success ${timeAgo(e.lastSuccess, now)})` : ''}` : 'never seen'}`,
    `*Top endpoints (7 d)*\n${top}`,
    `*Soak clock*\n${soak}`,
  ]);
}

function signatureLines(req: StoredRequest): string {
  const lines = req.signatures.map((s) => `:black_nib: <@${s.userId}> signed ${slackTime(s.at)}`);
  return `*Signatures (${req.signatures.length} of ${req.required})*\n${lines.length ? lines.join('\n') : '_none yet_'}`;
}

function approveConfirm(req: StoredRequest, mode: 'dry-run' | 'live'): types.ConfirmationDialog | undefined {
  if (req.action !== 'remove') return undefined;
  return {
    title: { type: 'plain_text', text: 'Remove this app for good?' },
    text: {
      type: 'plain_text',
      text: truncate(
        mode === 'live'
          ? `Removing ${req.appName} from Zoom is permanent. Approve only if you are sure nothing uses it.`
          : `DRY-RUN mode: nothing will be sent to Zoom, but this records your approval to remove ${req.appName}.`,
        300,
      ),
    },
    confirm: { type: 'plain_text', text: 'Approve removal' },
    deny: { type: 'plain_text', text: 'Go back' },
    style: 'danger',
  };
}

/** The status line; a cancelled or expired operator step (it has `endedAt`) says what ended. */
function statusLine(req: StoredRequest): string {
  if (req.status === 'cancelled' && req.decidedBy && req.decidedBy !== req.requester) return `:wastebasket: *Cancelled* by <@${req.decidedBy}>`;
  if (req.status === 'expired' && req.endedAt !== undefined) return ':alarm_clock: *Expired* — nobody pressed Done before the deadline';
  return STATUS_LINE[req.status];
}

function outcomeLines(req: StoredRequest): string[] {
  const lines: string[] = [];
  // endedAt: when an operator step was cancelled or expired (decidedAt is then its approval).
  const ended = req.endedAt ?? req.decidedAt;
  if (req.status === 'rejected' && req.decidedBy) lines.push(`Rejected by <@${req.decidedBy}>${req.decidedAt ? ` ${slackTime(req.decidedAt)}` : ''}.`);
  if (req.status === 'cancelled' && ended) lines.push(`Cancelled ${slackTime(ended)}.`);
  if (req.status === 'expired' && ended) lines.push(`Expired ${slackTime(ended)}.`);
  const pendingCancel = req.status === 'cancelled' && req.endedAt === undefined;
  // Outcomes are plain sentences that may quote Zoom (an app name, an error message).
  if (req.outcome && req.status !== 'rejected' && !pendingCancel) lines.push(escapeMrkdwn(req.outcome));
  if (req.operatorDoneBy && req.operatorDoneAt) lines.push(`Marked done by <@${req.operatorDoneBy}> ${slackTime(req.operatorDoneAt)}.`);
  return lines;
}

/**
 * Block ids of a card's action blocks name the request and the card's state: each redraw after a
 * transition (chat.update) gets new ones, as Slack advises, so a client never keeps the buttons
 * of an earlier state under an id it already knows.
 */
export function cardBlockId(kind: 'approval' | 'operator', req: Pick<StoredRequest, 'id' | 'status' | 'signatures'>): string {
  return `${kind}:${req.id}:${req.status}:${req.signatures.length}`;
}

/** The card for a request, in its current state. `mode` is ACTIONS_MODE (the request's own once executed). */
export function renderCard(req: StoredRequest, opts: { now: number; mode: 'dry-run' | 'live' }): SlackMessage {
  const mode = req.mode ?? opts.mode;
  const now = opts.now;
  const blocks: Block[] = [
    header(`${ACTION_TITLE[req.action]} ${req.appName}?${mode === 'dry-run' ? ' (dry run)' : ''}`),
    section(
      `<@${req.requester}> asks to *${actionPhrase(req.action)}* *${escapeMrkdwn(req.appName)}* (\`${req.appId}\`, account ${escapeMrkdwn(req.account)}).\n*Reason:* ${escapeMrkdwn(req.reason)}`,
    ),
  ];
  const evidence = evidenceFields(req, now);
  if (evidence) blocks.push(evidence);
  blocks.push(section(`*What will happen*\n${whatWillHappen(req, mode)}`));
  blocks.push(divider());
  blocks.push(section(`${statusLine(req)}\n${signatureLines(req)}`));
  const outcome = outcomeLines(req);
  if (outcome.length) blocks.push(section(outcome.join('\n')));
  if (req.status === 'approved' && req.pausedUntil !== undefined && req.pausedUntil > now) {
    blocks.push(
      section(
        `:double_vertical_bar: *Waiting for Zoom*: the daily API limit of account ${escapeMrkdwn(req.account)} is used up. zoomjwt sends the removal when Zoom accepts calls again, ${slackTime(req.pausedUntil)} (${timeUntil(req.pausedUntil, now)}). Nothing to do here.`,
      ),
    );
  }

  if (req.status === 'pending') {
    blocks.push(
      actions(cardBlockId('approval', req), [
        button(req.action === 'remove' ? 'Approve removal' : 'Approve', ACTION.approve, req.id, 'primary', approveConfirm(req, mode)),
        button('Reject', ACTION.reject, req.id, 'danger'),
        button('Cancel request', ACTION.cancel, req.id),
      ]),
    );
    blocks.push(context(`Needs ${req.required} approver${req.required === 1 ? '' : 's'} other than the requester · expires ${timeUntil(req.expiresAt, now)} (${slackTime(req.expiresAt)}) · request \`${req.id}\``));
  } else if (req.status === 'awaiting_operator') {
    const steps = operatorSteps(req.action, escapeMrkdwn(req.appName))
      .map((s, i) => `${i + 1}. ${s}`)
      .join('\n');
    blocks.push(
      section(
        `*Your turn in the Zoom Marketplace* (${MARKETPLACE_CREATED_APPS_URL}):\n${steps}\nThen press *Done* here (the requester or an approver). *Cancel* closes the request without recording anything.` +
          (mode === 'dry-run' ? '\n_DRY-RUN mode changes nothing here: this step is done by a person, and Done records it._' : ''),
      ),
    );
    blocks.push(actions(cardBlockId('operator', req), [button('Done', ACTION.taskDone, req.id, 'primary'), button('Cancel request', ACTION.cancel, req.id)]));
    const deadline = operatorDeadlineOf(req);
    blocks.push(context(`Expires ${timeUntil(deadline, now)} (${slackTime(deadline)}) unless someone presses Done · request \`${req.id}\``));
  } else {
    blocks.push(context(`request \`${req.id}\` · no further action on this card`));
  }
  const fallback = `${cardTitle(req)} ${statusLine(req).replace(/:[a-z_]+:|\*/g, '').trim()} — requested by <@${req.requester}>`;
  return message(fallback, blocks, 'in_channel');
}
