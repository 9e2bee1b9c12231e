/**
 * Two-person sign-off rules (SPEC §5.2), as pure functions of data and a time passed in.
 * Slack, Redis and Zoom answers arrive here as plain values; nothing here does I/O.
 */
import type { TrackedApp } from '../../evidence';
import type { ReadHealth } from '../../evidence';
import { formatDuration } from '../../../kernel/duration';
import { degradedReasons, removalRefusal } from '../../evidence';
import { escapeMrkdwn } from '../../../kernel/format';
import type { ApprovalRequest, RequestAction, RequestStatus } from './request';
import { isGroupId } from '../../../kernel/people';

/** What the card shows about an app, captured when the request is opened (SPEC §5.1). */
export interface RequestEvidence {
  calls24h: number;
  calls7d: number;
  /** Epoch ms of the newest call of any outcome, when one was ever seen. */
  lastCall?: number;
  lastSuccess?: number;
  /** `METHOD /template` with counts over 7 days, most called first. */
  topEndpoints: Array<{ key: string; count: number }>;
  /** When the app was marked disabled (the soak clock's start). */
  disabledAt?: number;
  soakPeriodMs: number;
}

/** A request as stored: the shared shape plus what only the approval flow needs. */
export interface StoredRequest extends ApprovalRequest {
  evidence?: RequestEvidence;
  /** When the request reached `executed` (Zoom call done, dry run reported, or Done pressed). */
  executedAt?: number;
  /** When execution stopped without doing it (aborted or failed). */
  endedAt?: number;
}

/** Statuses in which a request still holds its (app, action) lock. */
export const OPEN_STATUSES: readonly RequestStatus[] = ['pending', 'approved', 'awaiting_operator'];


/** Approvals a new request needs: enable is a rollback and needs one (SPEC §5.2 rule 2). */
export function requiredApprovals(action: RequestAction, configured: number): number {
  return action === 'enable' ? 1 : Math.max(1, configured);
}

/** The lifecycle state an action starts from. */
export function expectedState(action: RequestAction): TrackedApp['state'] {
  return action === 'disable' ? 'active' : 'disabled';
}

/** Membership of one approver user group as far as Slack told us at request time. */
export type GroupMembers =
  | { kind: 'members'; users: string[] }
  /** The group can never sign: no user groups on this plan, or no such group. */
  | { kind: 'unavailable'; why: string }
  /** Slack did not answer; the group may hold anyone. */
  | { kind: 'unknown' };

export interface ApproverPool {
  /** Distinct people other than the requester known to be approvers. */
  known: number;
  /** True when some group could not be resolved: it may add any number. */
  openEnded: boolean;
  /** Why a listed group cannot count (for the refusal sentence). */
  notes: string[];
}

/** Who besides the requester could sign (SPEC §5.2 rule 3). */
export function approverPool(approvers: readonly string[], requester: string, groups: ReadonlyMap<string, GroupMembers>): ApproverPool {
  const people = new Set<string>();
  let openEnded = false;
  const notes: string[] = [];
  for (const id of approvers) {
    if (!isGroupId(id)) {
      if (id !== requester) people.add(id);
      continue;
    }
    const group = groups.get(id) ?? { kind: 'unknown' };
    if (group.kind === 'members') {
      for (const user of group.users) if (user !== requester) people.add(user);
    } else if (group.kind === 'unknown') {
      openEnded = true;
    } else {
      notes.push(`user group ${id}: ${group.why}`);
    }
  }
  return { known: people.size, openEnded, notes };
}


export interface OpenInput {
  action: RequestAction;
  reason: string;
  app: TrackedApp;
  requester: string;
  /** From `usage.summary().lastSuccess` (epoch ms), when any call ever succeeded. */
  lastSuccess?: number;
  /** From `usage.summary().read`: a removal needs a clean last read of the call logs. */
  read?: ReadHealth;
  now: number;
  soakPeriodMs: number;
  required: number;
  pool: ApproverPool;
}

export type Verdict = { ok: true } | { ok: false; code: RefusalCode; reason: string };
export type RefusalCode = 'no_reason' | 'wrong_state' | 'soaking' | 'calls_since_disable' | 'degraded_evidence' | 'approvers';

/**
 * Whether a request can be opened at all. The "identical request pending" rule is enforced by
 * the store's lock, atomically, not here.
 */
export function canOpen(input: OpenInput): Verdict {
  const { action, app, now } = input;
  if (input.reason.trim() === '') {
    return refuse('no_reason', `A reason is required: \`/zoomjwt ${action} ${app.appId} <why>\`. It goes on the card and in the audit log.`);
  }
  const want = expectedState(action);
  if (app.state !== want) {
    return refuse('wrong_state', `*${escapeMrkdwn(app.name)}* is ${app.state}; \`${action}\` needs an app that is ${want}.`);
  }
  if (action === 'remove') {
    const since = app.disabledAt;
    if (since === undefined) return refuse('soaking', `*${escapeMrkdwn(app.name)}* has no recorded disable time, so its soak period cannot be checked. Disable it through \`/zoomjwt disable\` first.`);
    const soakedMs = now - since;
    if (soakedMs < input.soakPeriodMs) {
      return refuse(
        'soaking',
        `*${escapeMrkdwn(app.name)}* has been disabled for ${formatDuration(Math.max(0, soakedMs))}; removal needs ${formatDuration(input.soakPeriodMs)} of soak (${formatDuration(input.soakPeriodMs - soakedMs)} to go).`,
      );
    }
    if (input.lastSuccess !== undefined && input.lastSuccess >= since) {
      return refuse('calls_since_disable', `A call to *${escapeMrkdwn(app.name)}* succeeded after it was disabled, so something may still use it (or it is not really disabled). Removal is refused.`);
    }
    const degraded = input.read !== undefined ? removalRefusal(escapeMrkdwn(app.name), input.read) : undefined;
    if (degraded) return refuse('degraded_evidence', degraded);
  }
  const { pool } = input;
  if (!pool.openEnded && pool.known < input.required) {
    const notes = pool.notes.length ? ` (${pool.notes.join('; ')})` : '';
    return refuse(
      'approvers',
      `\`${action}\` needs ${input.required} approver${input.required === 1 ? '' : 's'} other than you, and APPROVERS lists only ${pool.known}${notes}. Ask your admin to add approvers.`,
    );
  }
  return { ok: true };
}

const refuse = (code: RefusalCode, reason: string): Verdict => ({ ok: false, code, reason });

export type ClickVerdict =
  | { ok: true }
  | { ok: false; code: 'unknown' | 'closed' | 'expired' | 'requester' | 'duplicate' | 'not_requester'; message: string };

/**
 * Whether a signature would count, judged on a snapshot. The store repeats these checks inside
 * its Lua script, which is what actually decides; this gives the sentence for the answer.
 */
export function canSign(req: StoredRequest | null, userId: string, now: number): ClickVerdict {
  if (!req) return { ok: false, code: 'unknown', message: 'This request no longer exists (the card is out of date).' };
  if (req.status !== 'pending') return { ok: false, code: 'closed', message: closedMessage(req) };
  if (now >= req.expiresAt) return { ok: false, code: 'expired', message: 'This request has expired; nothing was signed.' };
  if (req.requester === userId) return { ok: false, code: 'requester', message: 'You opened this request, so your approval cannot count. Another approver has to sign.' };
  if (req.signatures.some((s) => s.userId === userId)) return { ok: false, code: 'duplicate', message: 'You have already signed this request; a second click does not count twice.' };
  return { ok: true };
}

/** The ephemeral sentence for a click on a card that is no longer pending. */
/**
 * How long an operator step (approved, waiting for a person to act in the Marketplace and press
 * Done) stays open: a week, so a weekend or a few days off do not lose it, while a step nobody
 * takes does not hold the app's request lock forever. Then it expires like a pending request.
 */
export const OPERATOR_STEP_TTL_MS = 7 * 86_400_000;

/** When an operator step expires; requests from before the deadline existed count from their approval. */
export function operatorDeadlineOf(req: Pick<StoredRequest, 'operatorDeadline' | 'decidedAt' | 'createdAt'>): number {
  return req.operatorDeadline ?? (req.decidedAt ?? req.createdAt) + OPERATOR_STEP_TTL_MS;
}

export function closedMessage(req: Pick<StoredRequest, 'status' | 'decidedBy'> & { requester?: string }): string {
  switch (req.status) {
    case 'pending':
      return 'This request is still pending.';
    case 'approved':
      return 'This request is already approved and being carried out; nothing more is needed.';
    case 'awaiting_operator':
      return 'This request is approved and waiting for the Marketplace step; only *Done* is still open.';
    case 'executed':
      return 'This request has already been carried out.';
    case 'rejected':
      return `This request was rejected${req.decidedBy ? ` by <@${req.decidedBy}>` : ''}; nothing more can be signed.`;
    case 'cancelled':
      return req.decidedBy && req.requester && req.decidedBy !== req.requester
        ? `This request was cancelled by <@${req.decidedBy}>.`
        : 'This request was cancelled by its requester.';
    case 'expired':
      return 'This request has expired; open a new one if it is still needed.';
    case 'aborted':
      return 'This request was stopped at execution (the app changed); nothing was done.';
    case 'failed':
      return 'This request failed; see the card for why.';
  }
}

/** Label of the action for sentences: "disable", "re-enable", "remove permanently". */
export function actionPhrase(action: RequestAction): string {
  return action === 'disable' ? 'disable' : action === 'enable' ? 're-enable' : 'permanently remove';
}

/** The exact Marketplace clicks for a person (SPEC §5.3). */
export function operatorSteps(action: RequestAction, appName: string): string[] {
  const open = ['Open the Zoom Marketplace → *Develop* → *Build App* / *Created apps*', `Open *${appName}*`];
  if (action === 'remove') return [...open, 'Open the *…* menu on the app', 'Choose *Remove App* and confirm'];
  return [...open, 'Open *Manage app*', action === 'disable' ? 'Click *Disable* and confirm' : 'Click *Enable* and confirm'];
}

/** Fields of the app's lifecycle change when a request completes (who and when). */
export function lifecycleChange(
  action: RequestAction,
  who: string,
  at: number,
): { from: TrackedApp['state']; to: TrackedApp['state']; fields: Partial<TrackedApp> } {
  if (action === 'disable') return { from: 'active', to: 'disabled', fields: { disabledAt: at, disabledBy: who } };
  if (action === 'enable') return { from: 'disabled', to: 'active', fields: { enabledAt: at, enabledBy: who } };
  return { from: 'disabled', to: 'removed', fields: { removedAt: at, removedBy: who } };
}

/**
 * Execution's second look (SPEC §5.2 rule 7): whether the app is still what the request was
 * approved for. Returns the reason to abort, or undefined.
 */
export function executionRecheck(
  req: Pick<StoredRequest, 'action' | 'evidence'>,
  app: TrackedApp | null,
  lastSuccess: number | undefined,
  others: { enableRequestOpen?: boolean; read?: ReadHealth } = {},
): string | undefined {
  if (!app) return 'the app is no longer tracked';
  if (app.state === 'removed' || app.goneAt !== undefined) return 'the app was removed meanwhile';
  const want = expectedState(req.action);
  if (app.state !== want) return `the app is now ${app.state} (it had to be ${want})`;
  if (req.action === 'remove') {
    if (app.disabledAt !== undefined && lastSuccess !== undefined && lastSuccess >= app.disabledAt) {
      return 'calls succeeded again after the app was disabled';
    }
    // Someone asked for it back: a removal never races a rollback.
    if (others.enableRequestOpen) return 'an enable request for the app is open';
    // Re-enabled and disabled again since the request was opened: its soak evidence is void.
    const approvedFor = req.evidence?.disabledAt;
    if (approvedFor !== undefined && app.disabledAt !== approvedFor) return 'the app was re-enabled and disabled again since the request was opened';
  }
  const degraded = req.action === 'remove' && others.read !== undefined ? degradedReasons(others.read) : [];
  if (degraded.length) return `its call-log evidence is not complete (${degraded.join('; ')}) and removal waits for a clean read`;
  return undefined;
}
