/** Bolt's Logger interface, backed by pino so Bolt's own lines share our redaction. */
import { LogLevel, type App } from '@slack/bolt';
import type { Logger } from '../log';

type BoltLogger = NonNullable<ConstructorParameters<typeof App>[0]>['logger'];

export function boltLogger(log: Logger): NonNullable<BoltLogger> {
  let level: LogLevel = LogLevel.INFO;
  const child = log.child({ component: 'bolt' });
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
