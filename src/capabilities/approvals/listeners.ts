/**
 * The card's buttons (Approve, Reject, Cancel, Done) and an alert's "Request enable" button, as
 * Bolt listeners. Each acknowledges first, waits its turn behind the acks (see afterAck.ts), and
 * hands the click to the flow, which answers the person who clicked through an ephemeral reply.
 */
import { randomUUID } from 'node:crypto';
import type { App, BlockButtonAction, RespondFn } from '@slack/bolt';
import type { ApprovalServices as Services } from './services';
import type { Answer, ApprovalFlow } from './flow';
import { section } from '../../platform/slack/blocks';
import { ACTION } from '../../platform/slack/ids';
import { createAfterAckGate } from '../../platform/slack/afterAck';
import { warnUndelivered } from '../../platform/slack/transport';

export interface ApprovalListeners {
  register(app: App): void;
}

export function createApprovalListeners(s: Services, flow: ApprovalFlow): ApprovalListeners {
  const log = s.log.child({ feature: 'approvals' });

  const ephemeral = (respond: RespondFn, text: string) =>
    respond({ response_type: 'ephemeral', replace_original: false, text, blocks: [section(text)] }).then(
      () => undefined,
      (err: unknown) => warnUndelivered(log, err, 'ephemeral answer failed'),
    );

  /** The flow's answers, as ephemeral replies: a sentence in one section, a message as it is. */
  const answerWith =
    (respond: RespondFn): Answer =>
    async (reply) => {
      if (typeof reply === 'string') return ephemeral(respond, reply);
      await respond({ ...reply, response_type: 'ephemeral', replace_original: false }).catch((err: unknown) =>
        warnUndelivered(log, err, 'ephemeral answer failed'),
      );
    };

  // Every button's work after its ack waits its turn behind the acks (see afterAck.ts).
  const afterAck = createAfterAckGate();

  /**
   * Runs a button handler with an `ack` that also waits for the follow-up's turn. After the ack,
   * a failure (Redis unreachable, a bug) must still reach the person who clicked:
   * they get a sentence and a reference, the log gets the cause. Transitions are atomic, so the
   * click either counted entirely or not at all; the card tells which.
   */
  const answerFailures =
    <A extends { respond: RespondFn; ack: () => Promise<void> }>(name: string, handler: (args: A) => Promise<unknown>) =>
    async (args: A): Promise<void> => {
      try {
        await handler({
          ...args,
          ack: async () => {
            await args.ack();
            await afterAck();
          },
        });
      } catch (err) {
        const ref = randomUUID().slice(0, 8);
        log.error({ err, ref, action: name }, 'button handler failed');
        await ephemeral(
          args.respond,
          `:warning: zoomjwt could not finish handling your click (reference \`${ref}\`). Look at the card: if it does not show your click, it did not count; try again in a minute.`,
        ).catch(() => undefined);
      }
    };

  /** A button whose value says what it is about: a card's the request id, an alert's the app id. */
  const button = (name: string, click: (id: string, userId: string, answer: Answer) => Promise<void>) =>
    answerFailures<{ ack: () => Promise<void>; body: BlockButtonAction; respond: RespondFn }>(name, async ({ ack, body, respond }) => {
      await ack();
      await click(body.actions[0]?.value ?? '', body.user.id, answerWith(respond));
    });

  function register(app: App): void {
    app.action<BlockButtonAction>(ACTION.approve, button('approve', flow.approve));
    app.action<BlockButtonAction>(ACTION.reject, button('reject', flow.reject));
    app.action<BlockButtonAction>(ACTION.cancel, button('cancel', flow.cancel));
    app.action<BlockButtonAction>(ACTION.taskDone, button('done', flow.done));
    // The "Request enable" button of an alert (value: app id) opens an enable request.
    app.action<BlockButtonAction>(ACTION.alertRequestEnable, button('request_enable', flow.requestEnable));
  }

  return { register };
}
