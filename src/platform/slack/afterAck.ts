/**
 * Work after an ack waits its turn behind the acks. Slack holds an app to 3 seconds for the
 * acknowledgement of a click, not for what follows it (the signature, the answer to the
 * response URL, the card update). Under a burst, a process spending its CPU on follow-up work
 * of earlier clicks acknowledges new ones late; so follow-up work starts at most PER_TURN at a
 * time per turn of the event loop (in the check phase, after the turn's incoming requests have
 * been read and acknowledged), and the rest waits, in order, for the next turns. Without a burst
 * the wait is one setImmediate.
 */

/** Follow-ups started per event-loop turn. */
export const PER_TURN = 8;

export type AfterAck = () => Promise<void>;

export function createAfterAckGate(perTurn = PER_TURN): AfterAck & { waiting(): number } {
  const queue: Array<() => void> = [];
  let head = 0;
  let scheduled = false;
  const drain = () => {
    scheduled = false;
    const until = Math.min(queue.length, head + perTurn);
    for (; head < until; head++) queue[head]!();
    if (head === queue.length) {
      queue.length = 0;
      head = 0;
    } else {
      scheduled = true;
      setImmediate(drain);
    }
  };
  const gate = () =>
    new Promise<void>((resolve) => {
      queue.push(resolve);
      if (!scheduled) {
        scheduled = true;
        setImmediate(drain);
      }
    });
  return Object.assign(gate, { waiting: () => queue.length - head });
}
