/**
 * `npm run audit:verify [-- --head <hash>] [--count <n>]`: walks the whole audit log, recomputing
 * every hash and link, and checks it against the witnesses kept apart from the stream (head,
 * counter, install marker). Reads REDIS_URL, REDIS_PREFIX, REDIS_CLUSTER_NODES and AUDIT_KEY.
 *
 * `--head` (a prefix of an entry hash, at least 8 hex digits) and `--count` take what the daily
 * digest printed at its end: the chain must still reach that entry at that count, so a
 * truncation or a rewrite shows against the copy Slack keeps.
 *
 * Exit codes: 0 the chain is intact (and reaches the head given); 1 the chain is broken, or does
 * not reach the head given (what was found is printed); 2 nothing could be verified: bad
 * arguments or configuration, Redis unreachable, no install under REDIS_PREFIX, or keyed entries
 * without the right AUDIT_KEY.
 */
import { Cluster, Redis } from 'ioredis';
import { loadAuditVerifyConfig, loadEnvFile, type Config } from '../src/config';
import { createAuditLog, type VerifyExpectation } from '../src/capabilities/audit';
import { createKeys } from '../src/platform/redis/keys';
import { clusterNodeOptions } from '../src/platform/redis/connection';

interface Output {
  out(line: string): void;
  err(line: string): void;
}

const stdio: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

const USAGE = 'usage: npm run audit:verify [-- --head <hash> --count <entries>]  (both as printed at the end of the daily digest)';

class UsageError extends Error {
  readonly code = 'audit_verify_usage';
}

/** `--head x`, `--head=x`, `--count n`, `--count=n`; anything else is a usage error. */
export function parseVerifyArgs(argv: string[]): VerifyExpectation {
  const out: VerifyExpectation = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--(head|count)(?:=(.*))?$/.exec(arg);
    if (!m) throw new UsageError(`unknown argument "${arg.slice(0, 40)}"`);
    const name = m[1] as 'head' | 'count';
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    if (out[name] !== undefined) throw new UsageError(`--${name} given more than once`);
    if (name === 'head') {
      if (!/^[0-9a-fA-F]{8,64}$/.test(value)) throw new UsageError('--head takes 8 to 64 hex digits of an entry hash');
      out.head = value.toLowerCase();
    } else {
      if (!/^\d{1,15}$/.test(value.replace(/[,_]/g, '')) || Number(value.replace(/[,_]/g, '')) < 1) {
        throw new UsageError('--count takes a whole number of entries, at least 1');
      }
      out.count = Number(value.replace(/[,_]/g, ''));
    }
  }
  return out;
}

/** A one-shot connection that fails fast instead of retrying forever. */
function connect(config: Config['redis'], onError: (err: Error) => void): Redis {
  const options = { connectTimeout: 5_000, maxRetriesPerRequest: 1, connectionName: 'zoomjwt:audit-verify' };
  const conn = config.clusterNodes
    ? (new Cluster(config.clusterNodes, {
        lazyConnect: true,
        clusterRetryStrategy: () => null,
        redisOptions: { ...options, ...clusterNodeOptions(config.url) },
      }) as unknown as Redis)
    : new Redis(config.url, { ...options, lazyConnect: true, retryStrategy: () => null });
  conn.on('error', onError);
  return conn;
}

export async function main(
  env: Record<string, string | undefined> = process.env,
  io: Output = stdio,
  argv: string[] = [],
): Promise<number> {
  let redis: Redis | undefined;
  // ioredis reports the cause (e.g. ECONNREFUSED) as an event and rejects commands with a generic
  // "Connection is closed"; keep the cause for the message.
  let cause: string | undefined;
  try {
    const expect = parseVerifyArgs(argv);
    const config = loadAuditVerifyConfig(env);
    const keys = createKeys(config.redis.prefix);
    redis = connect(config.redis, (err) => (cause = err.message));
    await redis.connect();
    const audit = createAuditLog({ redis, keys, clock: Date.now, ...(config.auditKey ? { key: config.auditKey } : {}) });
    const result = await audit.verify(expect);
    const where = config.redis.clusterNodes ? `cluster ${config.redis.clusterNodes.map((n) => `${n.host}:${n.port}`).join(',')}` : 'redis';
    if (result.ok) {
      const head = result.head ? `head ${result.head.slice(0, 12)}` : 'nothing logged yet';
      const reached = expect.head !== undefined || expect.count !== undefined
        ? `; reaches ${[expect.head ? `head ${expect.head}` : '', expect.count !== undefined ? `entry ${expect.count}` : ''].filter(Boolean).join(' at ')}`
        : '';
      io.out(`audit log OK: ${result.count} entries, ${head}${reached} (prefix ${config.redis.prefix}, ${where})`);
      for (const note of result.notes ?? []) io.out(`  note: ${note}`);
      return 0;
    }
    if (result.unverifiable) {
      io.err(`audit log NOT VERIFIED${result.firstBadId ? ` at entry ${result.firstBadId}` : ''}: ${result.reason ?? 'unknown reason'} (prefix ${config.redis.prefix}, ${where})`);
      return 2;
    }
    io.out(
      `audit log BROKEN${result.firstBadId ? ` at entry ${result.firstBadId}` : ''}: ${result.reason ?? 'unknown reason'}` +
        ` (the chain is intact for the first ${result.count} entries; prefix ${config.redis.prefix})`,
    );
    return 1;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`audit verify: ${err.message}\n${USAGE}`);
      return 2;
    }
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
  void main(process.env, stdio, process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
