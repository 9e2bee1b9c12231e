/**
 * `npm run audit:verify`: walks the whole audit log, recomputing every hash and link, and checks
 * the head. Needs only REDIS_URL and REDIS_PREFIX.
 *
 * Exit codes: 0 the chain is intact; 1 the chain is broken (where is printed); 2 the check could
 * not run (bad configuration, Redis unreachable).
 */
import { Redis } from 'ioredis';
import { loadEnvFile, loadRedisConfig } from '../src/config';
import { createAuditLog } from '../src/store/audit';
import { createKeys } from '../src/store/keys';

interface Output {
  out(line: string): void;
  err(line: string): void;
}

const stdio: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

export async function main(env: Record<string, string | undefined> = process.env, io: Output = stdio): Promise<number> {
  let redis: Redis | undefined;
  // ioredis reports the cause (e.g. ECONNREFUSED) as an event and rejects commands with a generic
  // "Connection is closed"; keep the cause for the message.
  let cause: string | undefined;
  try {
    const config = loadRedisConfig(env);
    const keys = createKeys(config.prefix);
    // Fail fast: a one-shot tool should report an unreachable Redis, not retry forever.
    redis = new Redis(config.url, {
      lazyConnect: true,
      connectTimeout: 5_000,
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
      connectionName: 'zoomjwt:audit-verify',
    });
    redis.on('error', (err: Error) => (cause = err.message));
    await redis.connect();
    const audit = createAuditLog({ redis, keys, clock: Date.now });
    const result = await audit.verify();
    if (result.ok) {
      const head = (await redis.get(keys.k('audit', 'head'))) ?? '';
      io.out(`audit log OK: ${result.count} entries, head ${head ? head.slice(0, 8) : '(empty log)'}`);
      return 0;
    }
    io.out(
      `audit log BROKEN${result.firstBadId ? ` at entry ${result.firstBadId}` : ''}: ${result.reason ?? 'unknown reason'}` +
        ` (${result.count} entries verified before it)`,
    );
    return 1;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    io.err(`audit verify could not run: ${message}${cause && cause !== message ? ` (${cause})` : ''}`);
    return 2;
  } finally {
    if (redis) {
      try {
        await redis.quit();
      } catch {
        redis.disconnect();
      }
    }
  }
}

if (require.main === module) {
  // `.env` when there is one (as npm start reads it); variables already in the environment win.
  try {
    loadEnvFile();
  } catch (err) {
    process.stderr.write(`audit verify could not run: ${(err as Error).message}\n`);
    process.exit(2);
  }
  void main().then((code) => {
    process.exitCode = code;
  });
}
