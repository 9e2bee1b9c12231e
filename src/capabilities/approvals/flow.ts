/**
 * Two-person sign-off in Slack (SPEC §5): the `disable|enable|remove|requests` commands and
 * what a click on a card button does (listeners.ts acknowledges the click and hands it here). Every
 * click makes one atomic transition in Redis (the store's Lua scripts decide; nothing here is a
 * check-then-act), then redraws the card. The execution itself is a BullMQ job whose id comes from
 * the request id (see jobs/execute).
 */
import { randomBytes } from 'node:crypto';
import {
  approverPool,
  canOpen,
  canSign,
  closedMessage,
  lifecycleChange,
  requiredApprovals,
  type GroupMembers,
  type RequestEvidence,
  type StoredRequest,
} from './rules/approval';
import type { TrackedApp } from '../evidence';
import { escapeMrkdwn, lastNDays, timeUntil, truncate } from '../../kernel/format';
import type { RequestAction } from './rules/request';
import type { ApprovalServices as Services } from './services';
import type { AppendOptions, AuditEntry, AuditInput } from '../audit';
import type { RequestStore, TransitionResult } from './stores/requests';
import { createClaimStore } from './stores/claims';
import type { ReadHealth } from '../evidence';
import { message, notice, section, context, type SlackMessage } from '../../platform/slack/blocks';
import type { CommandContext, CommandTable } from '../../platform/slack/commands';
import { COMMAND } from '../../platform/slack/ids';
import { isGroupId } from '../../kernel/people';
import { resolveApp, resolveFailureMessage, splitAppArgs } from '../evidence';
import type { AccessVerdict } from '../../platform/slack/access';
import { APP_LEASE_TTL_MS, appLeaseKey, LeaseBusyError, withLease } from '../../platform/redis/lease';
import { renderCard, ACTION_TITLE } from './views/card';
import { EXECUTION_ATTEMPTS, EXECUTION_BACKOFF_MS, EXPIRY_MARGIN_MS, JOB, jobIds, reminderDelays, type ReminderMoment } from './jobs/names';
import { slackErrorText } from '../../platform/slack/errors';

/** How long a Done waits for its app's lease before asking the person to try again (ms). */
const DONE_LEASE_WAIT_MS = 5_000;

/** How the worker and the listeners reach the card and the people around a request. */
export interface ApprovalFlow {
  store: RequestStore;
  /** Redraws the card from the stored request; Slack failures are logged, never thrown. */
  refreshCard(req: StoredRequest): Promise<void>;
  /**
   * A DM to the requester (the bot's DM channel is the user id), with a link to the card. With
   * `once`, the message is claimed in Redis under that key before it is sent, so a step re-run
   * after a crash never sends it twice (a crash between claim and send loses it instead).
   */
  tellRequester(req: StoredRequest, text: string, opts?: { once?: string }): Promise<void>;
  /** Everything that follows a request expiring (audit, card, requester), done by whoever expired it. */
  afterExpired(req: StoredRequest): Promise<void>;
  enqueueExecution(requestId: string): Promise<void>;
  /**
   * A reply in the card's thread saying what was decided (approved, rejected, cancelled, expired,
   * executed, failed, aborted), claimed once per request and status, so a re-run never repeats it.
   */
  announce(req: StoredRequest): Promise<void>;
  /**
   * The reminder job's work: a reply in the card's thread tagging the eligible approvers who have
   * not signed, if the request is still pending below quorum. Claimed once per request and moment.
   */
  remind(requestId: string, moment: ReminderMoment): Promise<'sent' | 'decided' | 'claimed' | 'unknown'>;
  /** Appends to the audit log; failures are logged, never thrown (undefined then). */
  audit(input: AuditInput, options?: AppendOptions): Promise<AuditEntry | undefined>;
  commands: CommandTable;
  /** Approve on a card: a signature, and at quorum the approval and the queued execution. */
  approve(id: string, userId: string, answer: Answer): Promise<void>;
  /** Reject on a card: an approver closes a pending request. */
  reject(id: string, userId: string, answer: Answer): Promise<void>;
  /** Cancel on a card: the requester withdraws a pending request, or someone closes an operator step. */
  cancel(id: string, userId: string, answer: Answer): Promise<void>;
  /** Done on a card's operator step, recorded under the app's lease. */
  done(id: string, userId: string, answer: Answer): Promise<void>;
  /** The "Request enable" button of an alert: opens an enable request for that app. */
  requestEnable(appId: string, userId: string, answer: Answer): Promise<void>;
  /** Opens a request exactly as the command does (same rules, same refusals). */
  tryOpen(action: RequestAction, app: TrackedApp, reason: string, requester: string): Promise<OpenOutcome>;
  /** What a request would show as evidence, read from stored data. */
  evidenceFor(app: TrackedApp, now: number): Promise<{ evidence: RequestEvidence }>;
  /** Lets `disable|enable|remove <app>` without a reason open the request form (modal.ts). */
  useRequestForm(form: RequestForm): void;
}

export interface OpenOutcome {
  opened: boolean;
  message: SlackMessage;
}

/** The request form, as the command sees it: true when the modal is open. */
export interface RequestForm {
  open(triggerId: string, action: RequestAction, app: TrackedApp, userId: string): Promise<boolean>;
}

export type ApproverCheck = AccessVerdict;

/**
 * How a click is answered, to the person who clicked only: a sentence, or a whole message (the
 * outcome of opening a request). It never throws: an answer Slack does not take is logged.
 */
export type Answer = (reply: string | SlackMessage) => Promise<void>;

const USAGE: Record<RequestAction, string> = {
  disable: `\`${COMMAND} disable <app> <reason>\``,
  enable: `\`${COMMAND} enable <app> <reason>\``,
  remove: `\`${COMMAND} remove <exact app id or full name> <reason>\``,
};

export function newRequestId(): string {
  return `R${randomBytes(5).toString('hex').toUpperCase()}`;
}

/** What a card shows changes exactly when the status or the number of signatures does. */
export function cardVersion(req: Pick<StoredRequest, 'status' | 'signatures'>): string {
  return `${req.status}:${req.signatures.length}`;
}

export function createApprovalFlow(s: Services, store: RequestStore): ApprovalFlow {
  const log = s.log.child({ feature: 'approvals' });
  const claims = createClaimStore(s.redis, s.keys);
  const mode = () => s.config.actionsMode;
  let requestForm: RequestForm | undefined;

  async function audit(input: AuditInput, options?: AppendOptions): Promise<AuditEntry | undefined> {
    try {
      return await s.audit.append(input, options);
    } catch (err) {
      // The transition already happened; a lost audit line is logged loudly, not turned into a
      // second attempt at the action.
      log.error({ err: { message: (err as Error).message }, type: input.type, requestId: input.requestId }, 'audit append failed');
      return undefined;
    }
  }
  const reqAudit = (req: StoredRequest, input: Omit<AuditInput, 'appId' | 'account' | 'requestId'>): Promise<AuditEntry | undefined> =>
    audit({ ...input, appId: req.appId, account: req.account, requestId: req.id });

  /**
   * Updates from several clicks and the worker can reach Slack out of order, and the last one to
   * land wins. So after each update the stored request is read again: if it moved on meanwhile,
   * the card is drawn again from the newer state. Whoever lands last has therefore drawn the
   * latest state, and a card never falls back to an older one (e.g. live buttons after a decision).
   */
  async function refreshCard(req: StoredRequest): Promise<void> {
    let current: StoredRequest | null = req.channel && req.ts ? req : await store.get(req.id);
    for (let round = 0; current?.channel && current.ts && round < 5; round++) {
      const card = renderCard(current, { now: s.clock(), mode: mode() });
      try {
        await s.slack.chat.update({ channel: current.channel, ts: current.ts, text: card.text, blocks: card.blocks ?? [] });
      } catch (err) {
        log.warn({ requestId: req.id, err: { message: slackErrorText(err) } }, 'card update failed');
        return;
      }
      const latest: StoredRequest | null = await store.get(req.id);
      if (!latest || cardVersion(latest) === cardVersion(current)) return;
      current = latest;
    }
  }

  async function permalink(req: Pick<StoredRequest, 'channel' | 'ts'>): Promise<string | undefined> {
    if (!req.channel || !req.ts) return undefined;
    try {
      const res = await s.slack.chat.getPermalink({ channel: req.channel, message_ts: req.ts });
      return typeof res.permalink === 'string' ? res.permalink : undefined;
    } catch (err) {
      log.warn({ err: { message: slackErrorText(err) } }, 'permalink lookup failed');
      return undefined;
    }
  }

  async function tellRequester(req: StoredRequest, text: string, opts: { once?: string } = {}): Promise<void> {
    if (opts.once !== undefined) {
      // Claimed before sending: of "maybe twice" and "maybe never" after a crash, a DM picks never.
      // Only a claim someone else holds stops it; a reply that says neither still sends.
      if ((await claims.claim('notified', req.id, opts.once, s.clock())) === false) return;
    }
    const link = await permalink(req);
    const full = `${text}${link ? ` <${link}|Open the card>` : ''}`;
    try {
      await s.slack.chat.postMessage({ channel: req.requester, text: full, blocks: [section(full)] });
    } catch (err) {
      log.warn({ requestId: req.id, err: { message: slackErrorText(err) } }, 'could not tell the requester');
    }
  }

  /**
   * Claims `field` in the request's `kind` hash; true for the one caller that got it. Claimed
   * before sending, like tellRequester: after a crash, a thread reply is lost rather than doubled.
   */
  async function claimOnce(kind: 'reminded' | 'announced', id: string, field: string): Promise<boolean> {
    return (await claims.claim(kind, id, field, s.clock())) === true;
  }

  async function replyInThread(req: StoredRequest, text: string): Promise<void> {
    if (!req.channel || !req.ts) return;
    try {
      await s.slack.chat.postMessage({ channel: req.channel, thread_ts: req.ts, text, blocks: [section(text)], unfurl_links: false });
    } catch (err) {
      log.warn({ requestId: req.id, err: { message: slackErrorText(err) } }, 'could not reply in the card thread');
    }
  }

  const who = (id: string | undefined) => (id && /^[UW][A-Z0-9]{2,}$/.test(id) ? `<@${id}>` : 'someone');

  function announcement(req: StoredRequest): string | undefined {
    const what = `Request \`${req.id}\` to ${req.action} *${escapeMrkdwn(truncate(req.appName, 80))}*`;
    const signers = req.signatures.map((x) => who(x.userId)).join(', ');
    switch (req.status) {
      case 'approved':
        return `:white_check_mark: ${what} is approved (${signers}). It is being carried out now.`;
      case 'awaiting_operator':
        return undefined;
      case 'rejected':
        return `:no_entry: ${what} was rejected by ${who(req.decidedBy)}. Nothing will be done.`;
      case 'cancelled':
        return `:wastebasket: ${what} was cancelled by ${who(req.decidedBy)}. Nothing was done.`;
      case 'expired':
        if (req.signatures.length >= req.required) return `:alarm_clock: ${what} expired at the Marketplace step: nobody pressed *Done*. Nothing was recorded on the app.`;
        return `:alarm_clock: ${what} expired with ${req.signatures.length} of ${req.required} approvals. Nothing was done.`;
      case 'executed':
        return `:white_check_mark: ${what} was carried out. The card shows the result.`;
      case 'failed':
        return `:x: ${what} failed: it could not be carried out. The card says what to check.`;
      case 'aborted':
        return `:octagonal_sign: ${what} was stopped before anything was done. The card says why.`;
      default:
        return undefined;
    }
  }

  async function announce(req: StoredRequest): Promise<void> {
    const text = announcement(req);
    if (!text || !req.channel || !req.ts) return;
    if (!(await claimOnce('announced', req.id, req.status))) return;
    await replyInThread(req, text);
  }

  /** The eligible approvers of a request who have not signed it: people to tag, groups whose members Slack did not list. */
  async function unsignedApprovers(req: StoredRequest): Promise<string[]> {
    const signed = new Set(req.signatures.map((x) => x.userId));
    const groups = await groupMembers();
    const people = new Set<string>();
    const openGroups: string[] = [];
    for (const id of s.config.approvers) {
      if (!isGroupId(id)) {
        people.add(id);
        continue;
      }
      const g = groups.get(id);
      if (g?.kind === 'members') g.users.forEach((u) => people.add(u));
      else if (!g || g.kind === 'unknown') openGroups.push(id);
    }
    const candidates = [...people].filter((u) => u !== req.requester && !signed.has(u));
    const verdicts = await Promise.all(candidates.map(async (u) => ((await s.access.check(u, 'approver')).ok ? u : undefined)));
    return [...verdicts.filter((u): u is string => u !== undefined).map((u) => `<@${u}>`), ...openGroups.map((g) => `<!subteam^${g}>`)];
  }

  async function remind(requestId: string, moment: ReminderMoment): Promise<'sent' | 'decided' | 'claimed' | 'unknown'> {
    const req = await store.get(requestId);
    if (!req) return 'unknown';
    const now = s.clock();
    if (req.status !== 'pending' || req.signatures.length >= req.required || now >= req.expiresAt) return 'decided';
    if (!(await claimOnce('reminded', req.id, moment))) return 'claimed';
    const tags = await unsignedApprovers(req);
    const missing = req.required - req.signatures.length;
    const lead = moment === 'hour' ? ':hourglass_flowing_sand: One hour left' : ':bell: Halfway';
    const text =
      `${lead}: request \`${req.id}\` to ${req.action} *${escapeMrkdwn(truncate(req.appName, 80))}* needs ${missing} more approval${missing === 1 ? '' : 's'} ` +
      `(${req.signatures.length} of ${req.required}) and expires ${timeUntil(req.expiresAt, now)}.` +
      (tags.length ? ` Can sign: ${tags.slice(0, 30).join(', ')}${tags.length > 30 ? ` and ${tags.length - 30} more` : ''}.` : ' Nobody else who can sign is known.');
    await replyInThread(req, text);
    return 'sent';
  }

  async function afterExpired(req: StoredRequest): Promise<void> {
    await reqAudit(req, {
      type: 'request.expired',
      actor: 'system',
      summary: `Request ${req.id} to ${req.action} ${req.appName} expired with ${req.signatures.length} of ${req.required} approvals`,
    });
    await refreshCard(req);
    await announce(req);
    await tellRequester(req, `:alarm_clock: Your request \`${req.id}\` to ${req.action} *${escapeMrkdwn(req.appName)}* expired without enough approvals. Nothing was done.`);
  }

  async function enqueueExecution(requestId: string): Promise<void> {
    await s.queues.actions.add(
      JOB.execute,
      { requestId },
      { jobId: jobIds.execute(requestId), attempts: EXECUTION_ATTEMPTS, backoff: { type: 'exponential', delay: EXECUTION_BACKOFF_MS } },
    );
  }

  /** Approver check at click time; a refusal is counted and, as an attempt to change state, audited. */
  /**
   * A role check at click time: a refusal is counted and, as an attempt to change state, audited
   * (`on` says what was attempted, for the summary; Slack being unavailable is not audited).
   */
  async function checkRole(userId: string, role: 'member' | 'approver', action: string, on: { text: string; req?: StoredRequest }): Promise<ApproverCheck> {
    const verdict = await s.access.check(userId, role);
    if (verdict.ok) return verdict;
    s.metrics.accessRefusals.inc({ action, code: verdict.code });
    if (verdict.code !== 'unavailable') {
      const entry = { type: 'access.refused' as const, actor: userId, summary: `<@${userId}> was refused ${on.text} (${verdict.code})`, details: { action, code: verdict.code } };
      await (on.req ? reqAudit(on.req, entry) : audit(entry));
    }
    return verdict;
  }

  const checkApprover = (userId: string, action: string, req: StoredRequest): Promise<ApproverCheck> =>
    checkRole(userId, 'approver', action, { text: `${action} on request ${req.id}`, req });

  async function groupMembers(): Promise<Map<string, GroupMembers>> {
    const out = new Map<string, GroupMembers>();
    await Promise.all(
      s.config.approvers.filter(isGroupId).map(async (group) => {
        try {
          const res = await s.slack.usergroups.users.list({ usergroup: group });
          out.set(group, { kind: 'members', users: res.users ?? [] });
        } catch (err) {
          const code = slackErrorText(err);
          if (code === 'plan_upgrade_required') out.set(group, { kind: 'unavailable', why: 'user groups need a paid Slack plan' });
          else if (code === 'no_such_subteam') out.set(group, { kind: 'unavailable', why: 'no such user group' });
          else out.set(group, { kind: 'unknown' });
        }
      }),
    );
    return out;
  }

  async function evidenceFor(app: TrackedApp, now: number): Promise<{ evidence: RequestEvidence; lastSuccess?: number; read?: ReadHealth }> {
    const [summary, window, top] = await Promise.all([
      s.usage.summary(app.appId),
      s.usage.window(app.appId, now),
      s.usage.topEndpoints(app.appId, lastNDays(now, 7), 3),
    ]);
    const evidence: RequestEvidence = {
      calls24h: window.calls24h,
      calls7d: window.calls7d,
      topEndpoints: top.map((e) => ({ key: e.key, count: e.count })),
      soakPeriodMs: s.config.soakPeriodMs,
      ...(summary.lastCall !== undefined ? { lastCall: summary.lastCall } : {}),
      ...(summary.lastSuccess !== undefined ? { lastSuccess: summary.lastSuccess } : {}),
      ...(app.disabledAt !== undefined ? { disabledAt: app.disabledAt } : {}),
    };
    return { evidence, ...(summary.read ? { read: summary.read } : {}), ...(summary.lastSuccess !== undefined ? { lastSuccess: summary.lastSuccess } : {}) };
  }

  /** Opens a request for an app already chosen; the answer is the requester's ephemeral reply. */
  async function openRequest(action: RequestAction, app: TrackedApp, reason: string, requester: string): Promise<SlackMessage> {
    return (await tryOpen(action, app, reason, requester)).message;
  }

  /** The one way a request is opened (command, alert button, modal): whether it was, and the answer. */
  async function tryOpen(action: RequestAction, app: TrackedApp, reason: string, requester: string): Promise<OpenOutcome> {
    const answer = await openRequestAnswer(action, app, reason, requester);
    return { opened: OPENED.has(answer), message: answer };
  }
  const OPENED = new WeakSet<SlackMessage>();

  async function openRequestAnswer(action: RequestAction, app: TrackedApp, reason: string, requester: string): Promise<SlackMessage> {
    const now = s.clock();
    const required = requiredApprovals(action, s.config.requiredApprovals);
    const [groups, ev, enableOpen] = await Promise.all([
      groupMembers(),
      evidenceFor(app, now),
      action === 'remove' ? store.openFor(app.appId, 'enable') : Promise.resolve(undefined),
    ]);
    const verdict = canOpen({
      action, reason, app, requester, now, required,
      soakPeriodMs: s.config.soakPeriodMs,
      pool: approverPool(s.config.approvers, requester, groups),
      ...(ev.lastSuccess !== undefined ? { lastSuccess: ev.lastSuccess } : {}),
      ...(ev.read ? { read: ev.read } : {}),
    });
    const refuse = async (sentence: string, code: string) => {
      await audit({
        type: 'request.refused', actor: requester, appId: app.appId, account: app.account,
        summary: `Refused a request to ${action} ${app.name}: ${code}`, details: { action, code },
      });
      return notice(`:no_entry: ${sentence} Nothing was opened.`);
    };
    if (!verdict.ok) {
      if (verdict.code === 'no_reason') return notice(`:memo: ${verdict.reason}`);
      return refuse(verdict.reason, verdict.code);
    }
    if (enableOpen) {
      return refuse(`An enable request (\`${enableOpen}\`) for *${escapeMrkdwn(app.name)}* is open: someone wants it back. Decide that one first.`, 'enable_open');
    }

    const id = newRequestId();
    const opened = await store.open({
      id, action, appId: app.appId, account: app.account, appName: app.name, requester,
      reason: truncate(reason.trim(), 500), createdAt: now, expiresAt: now + s.config.approvalTtlMs, required, evidence: ev.evidence,
    });
    if (!opened.ok) {
      return refuse(`An identical request (\`${opened.existingId}\`) to ${action} *${escapeMrkdwn(app.name)}* is already open; sign or cancel that one.`, 'duplicate');
    }
    let req = opened.request;
    const card = renderCard(req, { now, mode: mode() });
    try {
      const posted = await s.slack.chat.postMessage({ channel: s.config.approvalsChannel, text: card.text, blocks: card.blocks ?? [] });
      const ts = String(posted.ts ?? '');
      const channel = String(posted.channel ?? s.config.approvalsChannel);
      await store.setCard(id, channel, ts);
      req = { ...req, channel, ts };
      // A click may have landed before the card's location was stored; redraw if so.
      const latest = await store.get(id);
      if (latest && cardVersion(latest) !== cardVersion(req)) await refreshCard(latest);
    } catch (err) {
      const code = slackErrorText(err);
      log.warn({ requestId: id, err: { message: code } }, 'approval card could not be posted');
      await store.failToPost(id, s.clock(), `The card could not be posted (${code}).`);
      return refuse(
        `I could not post the approval card in <#${s.config.approvalsChannel}> (Slack said \`${code}\`). Invite the bot to that channel and try again.`,
        'card_not_posted',
      );
    }
    await audit({
      type: 'request.opened', actor: requester, appId: app.appId, account: app.account, requestId: id,
      summary: `<@${requester}> asked to ${action} ${app.name}: ${truncate(reason.trim(), 200)}`,
      details: { action, required, expiresAt: req.expiresAt, mode: mode() },
    });
    await s.queues.actions.add(JOB.expire, { requestId: id }, { jobId: jobIds.expire(id), delay: s.config.approvalTtlMs + EXPIRY_MARGIN_MS });
    for (const r of reminderDelays(s.config.approvalTtlMs)) {
      await s.queues.actions.add(JOB.remind, { requestId: id, moment: r.moment }, { jobId: jobIds.remind(id, r.moment), delay: r.delayMs, removeOnComplete: true, removeOnFail: true });
    }
    const link = await permalink(req);
    const where = link ? `<${link}|the card in the approvals channel>` : `the card in <#${req.channel}>`;
    const text = `:memo: Request \`${id}\` to ${action} *${escapeMrkdwn(app.name)}* is open: see ${where}. It needs ${required} approval${required === 1 ? '' : 's'} from someone other than you and expires ${timeUntil(req.expiresAt, now)}. I will tell you the outcome.`;
    const answer = notice(text);
    OPENED.add(answer);
    return answer;
  }

  function openCommand(action: RequestAction) {
    return async (ctx: CommandContext): Promise<SlackMessage> => {
      const apps = await s.apps.list();
      const { query, rest: reason } = splitAppArgs(ctx.args, apps);
      // A request names its app exactly (id or full name): a partial name gets the apps it
      // could mean, never a guess. For remove, typing it is also the confirmation (SPEC §2).
      const res = resolveApp(query, apps, { exact: true });
      if (!res.ok) return resolveFailureMessage(res, { usage: USAGE[action] });
      const app = res.app;
      if (reason.trim() === '') {
        // No reason typed: a form asks for it (the trigger lasts 3 s, so this comes first).
        if (requestForm && ctx.triggerId && (await requestForm.open(ctx.triggerId, action, app, ctx.userId))) {
          return notice(`:memo: I opened a form to ${action} *${escapeMrkdwn(app.name)}*: give the reason there. (Or type it: ${USAGE[action]}.)`);
        }
        return notice(`:memo: A reason is required. Usage: ${USAGE[action]} — the reason goes on the card and in the audit log.`);
      }
      return openRequest(action, app, reason, ctx.userId);
    };
  }

  async function requestsCommand(): Promise<SlackMessage> {
    const open = await store.listOpen();
    const now = s.clock();
    if (open.length === 0) return notice('No open requests.');
    const lines = open.slice(0, 40).map((r) => {
      const sigs = r.signatures.map((sig) => `<@${sig.userId}>`).join(', ') || 'nobody yet';
      const state =
        r.status === 'pending'
          ? `${r.signatures.length}/${r.required} signed (${sigs}) · expires ${timeUntil(r.expiresAt, now)}`
          : r.status === 'awaiting_operator'
            ? 'approved · waiting for the Marketplace step and *Done*'
            : 'approved · being carried out';
      return `• \`${r.id}\` *${ACTION_TITLE[r.action]} ${escapeMrkdwn(r.appName)}* by <@${r.requester}> — ${state}`;
    });
    const more = open.length > 40 ? [context(`…and ${open.length - 40} more`)] : [];
    return message(`${open.length} open request${open.length === 1 ? '' : 's'}`, [section(`*Open requests*\n${lines.join('\n')}`), ...more]);
  }


  /** Handles the results every transition can have besides 'ok'. Returns true when handled. */
  async function answerNotOk(res: TransitionResult, answer: Answer): Promise<boolean> {
    if (res.outcome === 'ok') return false;
    if (res.outcome === 'expired' && res.request) {
      await answer(closedMessage(res.request));
      await afterExpired(res.request);
    } else if (res.outcome === 'unknown' || !res.request) {
      await answer('This request no longer exists (the card is out of date). Nothing was changed.');
    } else {
      await answer(closedMessage(res.request));
    }
    return true;
  }

  /** Done on an operator step, under the app's lease. */
  async function doneUnderLease(id: string, userId: string, answer: Answer): Promise<void> {
    const snapshot = await store.get(id);
    if (!snapshot) return answer('This request no longer exists (the card is out of date). Nothing was changed.');
    if (snapshot.status !== 'awaiting_operator') return answer(closedMessage(snapshot));
    if (snapshot.requester !== userId) {
      const check = await checkApprover(userId, 'done', snapshot);
      if (!check.ok) return answer(`${check.message} Only the requester or an approver can mark this step done.`);
    }
    const now = s.clock();
    const change = lifecycleChange(snapshot.action, userId, now);
    const res = await store.operatorDone(id, userId, now, { appId: snapshot.appId, change });
    if (res.outcome === 'app_state' && res.request) {
      const current = await s.apps.get(snapshot.appId);
      const why = `the app is ${current?.state ?? 'no longer tracked'} in zoomjwt, not ${change.from}`;
      const aborted = await store.abort(id, s.clock(), `Done was pressed, but ${why}; nothing was recorded on the app.`);
      if (aborted.outcome === 'ok' && aborted.request) {
        await reqAudit(aborted.request, { type: 'execution.aborted', actor: userId, summary: `Request ${id} stopped at Done: ${why}` });
        await refreshCard(aborted.request);
        await announce(aborted.request);
      }
      return answer(`:octagonal_sign: Not recorded: ${why}. The card says so.`);
    }
    if (await answerNotOk(res, answer)) return;
    const req = res.request!;
    const what = req.action === 'disable' ? 'disabled (the soak clock starts now)' : req.action === 'enable' ? 're-enabled' : 'removed by hand';
    await reqAudit(req, {
      type: 'operator.done', actor: userId,
      summary: `<@${userId}> marked ${req.appName} ${what} in the Marketplace (request ${req.id})`,
      details: { action: req.action, state: change.to },
    });
    await refreshCard(req);
    await announce(req);
    await answer(`:white_check_mark: Recorded: *${escapeMrkdwn(req.appName)}* ${what}.`);
    if (req.requester !== userId) {
      await tellRequester(req, `:white_check_mark: Your request \`${req.id}\` is done: <@${userId}> marked *${escapeMrkdwn(req.appName)}* ${what}.`);
    }
  }

  async function approve(id: string, userId: string, answer: Answer): Promise<void> {
    const snapshot = await store.get(id);
    const pre = canSign(snapshot, userId, s.clock());
    // Expired-but-unswept requests go through the script, which expires them once.
    if (!pre.ok && pre.code !== 'expired') return answer(pre.message);
    const check = await checkApprover(userId, 'approve', snapshot!);
    if (!check.ok) return answer(check.message);

    const { outcome, request } = await store.sign(id, userId, s.clock());
    if (!request) return answer('This request no longer exists (the card is out of date). Nothing was changed.');
    switch (outcome) {
      case 'signed':
      case 'approved': {
        const sig = request.signatures.find((x) => x.userId === userId);
        await reqAudit(request, {
          type: 'request.signed', actor: userId,
          summary: `<@${userId}> approved request ${request.id} (${request.signatures.length} of ${request.required})`,
          details: { signatures: request.signatures.length, required: request.required, at: sig?.at ?? null },
        });
        if (outcome === 'approved') {
          await reqAudit(request, {
            type: 'request.approved', actor: 'system',
            summary: `Request ${request.id} to ${request.action} ${request.appName} approved by ${request.signatures.map((x) => x.userId).join(', ')}`,
          });
          await enqueueExecution(request.id);
        }
        await refreshCard(request);
        if (outcome === 'approved') await announce(request);
        return answer(
          outcome === 'approved'
            ? ':white_check_mark: Your signature completed the approvals. It is being carried out now; the card will show the result.'
            : `:black_nib: Signed (${request.signatures.length} of ${request.required}).`,
        );
      }
      case 'expired':
        await answer(closedMessage(request));
        return afterExpired(request);
      default: {
        const verdict = canSign(request, userId, s.clock());
        return answer(verdict.ok ? closedMessage(request) : verdict.message);
      }
    }
  }

  async function reject(id: string, userId: string, answer: Answer): Promise<void> {
    const snapshot = await store.get(id);
    if (!snapshot) return answer('This request no longer exists (the card is out of date). Nothing was changed.');
    if (snapshot.status !== 'pending') return answer(closedMessage(snapshot));
    if (snapshot.requester === userId) return answer('This is your own request: use *Cancel request* to withdraw it.');
    const check = await checkApprover(userId, 'reject', snapshot);
    if (!check.ok) return answer(check.message);
    const res = await store.reject(id, userId, s.clock());
    if (await answerNotOk(res, answer)) return;
    const req = res.request!;
    await reqAudit(req, { type: 'request.rejected', actor: userId, summary: `<@${userId}> rejected request ${req.id} to ${req.action} ${req.appName}` });
    await refreshCard(req);
    await announce(req);
    await answer(':no_entry: Rejected. The request is closed and the requester is told.');
    await tellRequester(req, `:no_entry: Your request \`${req.id}\` to ${req.action} *${escapeMrkdwn(req.appName)}* was rejected by <@${userId}>. Nothing was done.`);
  }

  /**
   * Cancel on an operator step nobody is going to finish: the requester or an approver closes
   * it, nothing is recorded on the app, and the app's request lock is free again.
   */
  async function cancelOperatorStep(snapshot: StoredRequest, userId: string, answer: Answer): Promise<void> {
    if (snapshot.requester !== userId) {
      const check = await checkApprover(userId, 'cancel', snapshot);
      if (!check.ok) return answer(`${check.message} Only the requester or an approver can cancel this step.`);
    }
    const res = await store.cancelOperatorStep(snapshot.id, userId, s.clock());
    if (await answerNotOk(res, answer)) return;
    const req = res.request!;
    await reqAudit(req, {
      type: 'request.cancelled', actor: userId,
      summary: `<@${userId}> cancelled request ${req.id} to ${req.action} ${req.appName} at the Marketplace step; nothing was recorded on the app`,
      details: { at: 'operator_step' },
    });
    await refreshCard(req);
    await announce(req);
    await answer(':wastebasket: Cancelled. Nothing was recorded on the app; a new request can be opened for it.');
    if (req.requester !== userId) {
      await tellRequester(req, `:wastebasket: Your request \`${req.id}\` to ${req.action} *${escapeMrkdwn(req.appName)}* was cancelled by <@${userId}> at the Marketplace step. Nothing was recorded on the app.`);
    }
  }

  async function cancel(id: string, userId: string, answer: Answer): Promise<void> {
    const snapshot = await store.get(id);
    if (!snapshot) return answer('This request no longer exists (the card is out of date). Nothing was changed.');
    if (snapshot.status === 'awaiting_operator') return cancelOperatorStep(snapshot, userId, answer);
    // The requester never changes, so this check outside the script cannot go stale.
    if (snapshot.requester !== userId) return answer('Only the requester can cancel this request. Approvers can *Reject* it.');
    const res = await store.cancel(id, userId, s.clock());
    if (await answerNotOk(res, answer)) return;
    const req = res.request!;
    await reqAudit(req, { type: 'request.cancelled', actor: userId, summary: `<@${userId}> cancelled request ${req.id} to ${req.action} ${req.appName}` });
    await refreshCard(req);
    await announce(req);
    await answer(':wastebasket: Cancelled. Nothing was done.');
  }

  async function done(id: string, userId: string, answer: Answer): Promise<void> {
    const first = await store.get(id);
    if (!first) return answer('This request no longer exists (the card is out of date). Nothing was changed.');
    try {
      // Every Done holds the app's lease: it never lands between another request's re-check and
      // its DELETE (an enable's Done while a removal is under way, say).
      return await withLease(s.redis, appLeaseKey(s.keys, first.appId), { ttlMs: APP_LEASE_TTL_MS, waitMs: DONE_LEASE_WAIT_MS }, () => doneUnderLease(id, userId, answer));
    } catch (err) {
      if (!(err instanceof LeaseBusyError)) throw err;
      return answer(':hourglass_flowing_sand: Another step is changing this app right now, so nothing was recorded. Look at the card in a minute and press *Done* again if it is still needed.');
    }
  }

  async function requestEnable(appId: string, userId: string, answer: Answer): Promise<void> {
    // The button sits in a channel message: anyone who can see the channel can press it.
    const allowed = await checkRole(userId, 'member', 'request_enable', { text: `a request to enable ${appId} from an alert` });
    if (!allowed.ok) return answer(allowed.message);
    const app = await s.apps.get(appId);
    if (!app) return answer('That app is no longer tracked. Nothing was opened.');
    await answer(await openRequest('enable', app, 'Requested from an alert: calls have been failing since the app was disabled.', userId));
  }

  return {
    store,
    refreshCard,
    tellRequester,
    afterExpired,
    enqueueExecution,
    announce,
    remind,
    audit,
    tryOpen,
    evidenceFor,
    useRequestForm: (form) => {
      requestForm = form;
    },
    commands: {
      disable: openCommand('disable'),
      enable: openCommand('enable'),
      remove: openCommand('remove'),
      requests: () => requestsCommand(),
    },
    approve,
    reject,
    cancel,
    done,
    requestEnable,
  };
}
