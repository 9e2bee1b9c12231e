/**
 * Settings that weaken the product's promise. Allowed (a lab, a first trial), but never quiet:
 * start-up warns, and `status` and the digest carry a banner while they are in force.
 */
import { formatDuration } from './duration';

/** Below this a soak proves little: a daily job may not even have run (ms). */
export const MIN_HONEST_SOAK_MS = 86_400_000;

export interface WeakenedSetting {
  /** The environment variable. */
  setting: 'REQUIRED_APPROVALS' | 'SOAK_PERIOD';
  /** One sentence naming it and its value. */
  text: string;
}

/** The weakened settings in force; empty when there is none. */
export function weakenedSettings(s: { requiredApprovals: number; soakPeriodMs: number }): WeakenedSetting[] {
  const out: WeakenedSetting[] = [];
  if (s.requiredApprovals < 2) out.push({ setting: 'REQUIRED_APPROVALS', text: `Two-person rule is off: REQUIRED_APPROVALS=${s.requiredApprovals}, so one approver can disable or remove an app.` });
  if (s.soakPeriodMs < MIN_HONEST_SOAK_MS) {
    out.push({ setting: 'SOAK_PERIOD', text: `Soak period is under a day: SOAK_PERIOD=${formatDuration(s.soakPeriodMs)}, so an app can be removed before its daily or weekly callers have tried it.` });
  }
  return out;
}
