/** Approval requests (SPEC §5). Shared by the request store, the card views, executions and the digest. */
import type { RequestAction } from '../../evidence';

export type { RequestAction };

export type RequestStatus =
  | 'pending'
  /** Quorum reached; the execution job is queued or running. */
  | 'approved'
  | 'rejected'
  | 'cancelled'
  | 'expired'
  /** Execution finished: done in Zoom, or dry-run reported. */
  | 'executed'
  /** Waiting for a person to do the Marketplace clicks and press Done. */
  | 'awaiting_operator'
  /** Execution checked the state again and refused, or failed for good. */
  | 'aborted'
  | 'failed';

export interface Signature {
  userId: string;
  at: number;
}

export interface ApprovalRequest {
  id: string;
  action: RequestAction;
  appId: string;
  account: string;
  appName: string;
  requester: string;
  reason: string;
  status: RequestStatus;
  createdAt: number;
  expiresAt: number;
  /** Approvals needed, fixed when the request is made. */
  required: number;
  signatures: Signature[];
  decidedAt?: number;
  decidedBy?: string;
  /** Why it ended (rejection note, abort reason, failure sentence). */
  outcome?: string;
  /** Where the card lives. */
  channel?: string;
  ts?: string;
  /** ACTIONS_MODE when the request was executed. */
  mode?: 'dry-run' | 'live';
  operatorDoneBy?: string;
  operatorDoneAt?: number;
  /** An approved removal waiting out Zoom's Daily-limit pause: sent at this time (epoch ms). */
  pausedUntil?: number;
  /** An operator step not marked Done by then expires (epoch ms); see OPERATOR_STEP_TTL_MS. */
  operatorDeadline?: number;
}
