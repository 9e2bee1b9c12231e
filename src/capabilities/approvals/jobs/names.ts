/**
 * The approvals jobs on the `actions` queue, as both sides see them: their names, their ids (one
 * per request, so a second add is a no-op), when reminders fire, and how an execution retries.
 * The flow queues them; jobs/execute.ts processes them (its sweeper queues executions again).
 */

/** BullMQ job names on the `actions` queue. */
export const JOB = {
  execute: 'approval-execute',
  expire: 'approval-expire',
  sweep: 'approval-sweep',
  remind: 'approval-remind',
} as const;

/**
 * Job ids derived from the request id, so a second add of the same job is a no-op. BullMQ
 * refuses custom ids containing ':' (its own repeat-key format), hence the dash.
 */
export const jobIds = {
  execute: (requestId: string) => `exec-${requestId}`,
  expire: (requestId: string) => `expire-${requestId}`,
  remind: (requestId: string, moment: ReminderMoment) => `remind-${moment}-${requestId}`,
};

/** The two reminder moments of a pending request: half its TTL, and one hour before it expires. */
export type ReminderMoment = 'half' | 'hour';
const HOUR_MS = 3_600_000;

/**
 * When a request opened with this TTL is reminded about, as delays from its opening. Half the TTL
 * always; one hour before expiry only when that comes after the half (a TTL over 2 h), so a short
 * TTL gets one reminder, not two at the same moment or one before the other.
 */
export function reminderDelays(ttlMs: number): Array<{ moment: ReminderMoment; delayMs: number }> {
  const out: Array<{ moment: ReminderMoment; delayMs: number }> = [{ moment: 'half', delayMs: Math.floor(ttlMs / 2) }];
  if (ttlMs - HOUR_MS > ttlMs / 2) out.push({ moment: 'hour', delayMs: ttlMs - HOUR_MS });
  return out;
}

/** Live remove: attempts in all and the first backoff (ms, doubled each time) for 5xx/timeouts. */
export const EXECUTION_ATTEMPTS = 5;
export const EXECUTION_BACKOFF_MS = 2_000;
/** The delayed expiry job fires this long after the deadline, so the clock has surely passed it. */
export const EXPIRY_MARGIN_MS = 1_000;
