import type { ZoomAppUsage } from '../../../platform/zoom/types';

/** A tracked Zoom app and its lifecycle (SPEC §5): active → disabled (soaking) → removed; disabled → active. */

export type LifecycleState = 'active' | 'disabled' | 'removed';

/** What a person may ask to do to an app's lifecycle; each needs sign-off (approvals). */
export type RequestAction = 'disable' | 'enable' | 'remove';

/** Which requests make sense for an app in its state (the request form re-checks everything anyway). */
export function requestActionsFor(app: Pick<TrackedApp, 'state'>): RequestAction[] {
  if (app.state === 'active') return ['disable'];
  if (app.state === 'disabled') return ['enable', 'remove'];
  return [];
}

export interface TrackedApp {
  appId: string;
  /** Account name from config (`default` for the single-account form). */
  account: string;
  name: string;
  appType?: string;
  appStatus?: string;
  state: LifecycleState;
  trackedAt: number;
  trackedBy: string;
  /** Set when the operator step "disable" was marked Done: the soak clock starts here. */
  disabledAt?: number;
  disabledBy?: string;
  enabledAt?: number;
  enabledBy?: string;
  removedAt?: number;
  removedBy?: string;
  /** Zoom answered 404/1401 for an app we track: removed outside the bot. */
  goneAt?: number;
  owner?: string;
  ownerSetBy?: string;
  ownerSetAt?: number;
  migrated?: boolean;
  migratedNote?: string;
  migratedBy?: string;
  migratedAt?: number;
}

/** An untracked app the account's created-apps list offers. */
export interface CandidateApp {
  appId: string;
  account: string;
  name: string;
  appType?: string;
  appStatus?: string;
  seenAt: number;
  /** Zoom's own usage figures from the list, when the account sends them. */
  usage?: ZoomAppUsage;
}

/**
 * Zoom's usage figures of a tracked app, from the latest list that carried them, and the figures
 * of the list before the last call-log read that completed (what "used since the last read" is
 * measured against).
 */
export interface ZoomUsageRecord {
  usage: ZoomAppUsage;
  seenAt: number;
  atRead?: Pick<ZoomAppUsage, 'lastUsed' | 'totalCalls' | 'failedCalls'>;
}
