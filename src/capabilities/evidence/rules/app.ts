import type { ZoomAppUsage } from '../../../platform/zoom/types';

/** A tracked Zoom app and its lifecycle (SPEC §5): active → disabled (soaking) → removed; disabled → active. */

export type LifecycleState = 'active' | 'disabled' | 'removed';

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
