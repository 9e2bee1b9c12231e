/**
 * Bolt's Logger interface (the same one `@slack/web-api` takes), backed by pino so Bolt's and the
 * Web API client's own lines are JSON and share our redaction instead of going to stderr as text.
 */
import { LogLevel, type App } from '@slack/bolt';
import type { Logger } from '../../log';

type BoltLogger = NonNullable<ConstructorParameters<typeof App>[0]>['logger'];

export function boltLogger(log: Logger, component = 'bolt'): NonNullable<BoltLogger> {
  let level: LogLevel = LogLevel.INFO;
  const child = log.child({ component });
  const join = (msg: unknown[]) => msg.map((m) => (m instanceof Error ? m.message : typeof m === 'string' ? m : JSON.stringify(m))).join(' ');
  return {
    debug: (...msg: unknown[]) => child.debug(join(msg)),
    info: (...msg: unknown[]) => child.info(join(msg)),
    warn: (...msg: unknown[]) => child.warn(join(msg)),
    error: (...msg: unknown[]) => child.error(join(msg)),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}
