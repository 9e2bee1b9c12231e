/**
 * The digest's model (SPEC §6): what the digest job gathers for one local date (apps with their
 * usage, requests, poll health, audit entries), and the pure computations on it that the job and
 * the rendering share (the date, the day before, the headline counts). No Slack, no Redis.
 */
import type { CandidateApp, LifecycleState } from '../evidence';
import type { ApprovalRequest } from '../approvals';
import type { PollHealth } from '../evidence';
import type { DailyUsage } from '../evidence';
import { localDate } from '../../kernel/format';

/** One tracked app, with the evidence the digest shows. Times are epoch ms. */
export interface DigestApp {
  appId: string;
  name: string;
  account: string;
  state: LifecycleState;
  trackedAt: number;
  owner?: string;
  migrated?: boolean;
  disabledAt?: number;
  goneAt?: number;
  calls24h: number;
  prev24h: number;
  calls7d: number;
  fails24h: number;
  lastCall?: number;
  lastSuccess?: number;
  /** When the last complete read of its call logs finished; undefined = never read completely. */
  lastRead?: number;
  /** Most called endpoint keys over 7 days (`GET /users/{userId}`), most first. */
  topEndpoints: Array<{ key: string; count: number }>;
  /** Best integration guess (label only), when there is one. */
  integration?: string;
  /** Failed calls since it was marked disabled (disabled apps only). */
  failsSinceDisable?: number;
}

/** Poll health of one account: the fields of the health store's record the digest reads. */
export type DigestHealth = Pick<
  PollHealth,
  'account' | 'lastStart' | 'lastSuccess' | 'lastError' | 'lastErrorAt' | 'lastErrorKind' | 'pausedUntil' | 'consecutiveFailures' | 'failingSince'
>;

export interface DigestChange {
  type: string;
  at: number;
  summary: string;
  actor?: string;
  appId?: string;
}

export interface DigestCounts {
  tracked: number;
  active: number;
  disabled: number;
  removed: number;
  calls24h: number;
}

export interface DigestModel {
  apps: DigestApp[];
  /** Accounts configured (every one should have been polled). */
  accounts: string[];
  health: DigestHealth[];
  /** Requests still waiting for signatures. */
  pending: ApprovalRequest[];
  /** Approved requests waiting for a person's Marketplace clicks (status awaiting_operator). */
  operatorSteps: ApprovalRequest[];
  /** Executions that failed or were aborted in the last 24 h. */
  failedExecutions: ApprovalRequest[];
  /** False when the request store could not be read: the digest says so instead of showing none. */
  requestsKnown: boolean;
  /** Sentences about Slack API problems (a channel the bot cannot post in, a revoked token). */
  slackProblems?: string[];
  /** Audit entries of the last 24 h, oldest first. */
  changes: DigestChange[];
  /** Untracked created apps offered as candidates. */
  candidates: number;
  /** The candidates themselves: listed by recent use when Zoom sends usage figures for them. */
  candidateList?: CandidateApp[];
  /** Yesterday's headline counts, when yesterday's digest stored them. */
  yesterday?: DigestCounts;
  soakPeriodMs: number;
  /** 0 = scheduled polling off. */
  pollEveryMs: number;
  mode: 'dry-run' | 'live';
  /** Weakened settings in force (REQUIRED_APPROVALS=1, a short soak): a banner on top. */
  warnings?: string[];
  /** The local date the digest is for; defaults to the date of `now` in `tz`. */
  date?: string;
  /**
   * The audit log's head when the digest was gathered: printed last, so the copy Slack keeps
   * anchors the log outside Redis (`audit:verify --head --count`). Absent for an empty log.
   */
  auditHead?: { count: number; hash: string };
  /** Calls per UTC day of all tracked apps together, oldest first (the digest's chart). */
  daily?: DailyUsage[];
}

/** UTC days the digest's chart covers. */
export const DIGEST_CHART_DAYS = 14;

/** The digest's local date for an instant: the calendar date in the digest time zone. */
export function digestDate(atMs: number, timeZone: string): string {
  return localDate(atMs, timeZone);
}

/** The calendar day before a `YYYY-MM-DD` date (pure date arithmetic, no time zone involved). */
export function previousDate(date: string): string {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(Date.UTC(y!, m! - 1, d! - 1)).toISOString().slice(0, 10);
}

export function digestCounts(model: Pick<DigestModel, 'apps'>): DigestCounts {
  const counts: DigestCounts = { tracked: 0, active: 0, disabled: 0, removed: 0, calls24h: 0 };
  for (const app of model.apps) {
    counts.tracked += 1;
    counts[app.state] += 1;
    counts.calls24h += app.calls24h;
  }
  return counts;
}
