/**
 * Logging. Secrets are kept out in two layers, both configured here:
 *  1. pino `redact` censors fields that carry credentials by name (authorization headers, tokens,
 *     secrets), wherever a caller put them;
 *  2. the destination scrubs the literal value of every known secret (the configured ones, plus
 *     Zoom access tokens registered when fetched) from each line before it is written.
 */
import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

const REDACT_PATHS = [
  'authorization',
  'Authorization',
  '*.authorization',
  '*.Authorization',
  'headers.authorization',
  '*.headers.authorization',
  '*.headers.Authorization',
  'token',
  '*.token',
  'access_token',
  '*.access_token',
  'botToken',
  '*.botToken',
  'appToken',
  '*.appToken',
  'signingSecret',
  '*.signingSecret',
  'clientSecret',
  '*.clientSecret',
  'client_secret',
  '*.client_secret',
  'auditToken',
  '*.auditToken',
  'auditKey',
  '*.auditKey',
  'password',
  '*.password',
];

export interface LogHandle {
  log: Logger;
  /** Adds a value (e.g. a freshly fetched access token) to the set scrubbed from every line. */
  addSecret(value: string): void;
}

export function createLogger(
  options: { level: string; secrets: string[]; name?: string },
  destination: { write(line: string): unknown } = process.stdout,
): LogHandle {
  const secrets = new Set(options.secrets.filter((s) => s.length >= 6));
  const scrubbing: DestinationStream = {
    write(line: string) {
      let out = line;
      for (const secret of secrets) {
        if (out.includes(secret)) out = out.split(secret).join('[REDACTED]');
      }
      destination.write(out);
    },
  };
  const log = pino(
    {
      name: options.name ?? 'zoomjwt',
      level: options.level,
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: { err: pino.stdSerializers.err },
    },
    scrubbing,
  );
  return {
    log,
    addSecret(value: string) {
      if (value.length >= 6) secrets.add(value);
    },
  };
}
