/** Evidence events raised by polls, consumed by the alerts (worker side, in-process). */
import type { Logger } from '../../log';
import type { PollEvent } from './jobs/pollAccount';

export interface EventBus {
  on(handler: (event: PollEvent) => void | Promise<void>): void;
  emit(event: PollEvent): Promise<void>;
}

export function createEventBus(log: Logger): EventBus {
  const handlers: Array<(event: PollEvent) => void | Promise<void>> = [];
  return {
    on: (handler) => void handlers.push(handler),
    async emit(event) {
      for (const handler of handlers) {
        try {
          await handler(event);
        } catch (err) {
          log.warn({ event: event.type, err: { message: (err as Error).message } }, 'event handler failed');
        }
      }
    },
  };
}
