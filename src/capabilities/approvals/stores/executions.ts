/**
 * The execution record of a request (jobs/execute.ts says why it exists):
 *
 *  - `{p}:execution:<id>` hash: the aftermath of the outcome transition (`to`, `step`, `audit` as
 *    JSON, `tell`, `writtenAt`), `settledAt` once it was finished, and `deleteSentAt` once a
 *    DELETE was sent to Zoom.
 *  - `{p}:executions:unsettled` sorted set id → writtenAt: aftermaths written and not yet settled
 *    (the sweeper's index).
 */
import type { Redis } from 'ioredis';
import type { AuditInput } from '../../audit';
import type { RequestStatus } from '../rules/request';
import type { Keys } from '../../../platform/redis/keys';
import { FINISHED_REQUEST_TTL_MS } from './requests';

/** What has to follow one outcome transition; written before the transition, finished after. */
export interface Aftermath {
  /** The status the transition leads to. */
  to: RequestStatus;
  /** Names the step in dedupe keys (`<requestId>:<step>`). */
  step: string;
  audit: AuditInput;
  /** The requester's DM. */
  tell: string;
}

export interface ExecutionStore {
  /** Writes the aftermath (clearing an earlier settlement) and lists it as unsettled, in one script. */
  writeAftermath(id: string, a: Aftermath, now: number): Promise<void>;
  /** The aftermath still to finish, or undefined when there is none or it was settled. */
  unsettledAftermath(id: string): Promise<Aftermath | undefined>;
  /** Marks the aftermath settled (the record then expires with the request's hash) and unlists it. */
  markSettled(id: string, now: number): Promise<void>;
  /** Takes the id off the unsettled index only. */
  unlist(id: string): Promise<void>;
  /** Ids whose aftermath was written at or before `writtenBy` and is still unsettled, oldest first. */
  unsettledWrittenBy(writtenBy: number, limit: number): Promise<string[]>;
  /** Records that a DELETE of the request's app is about to be sent to Zoom. */
  noteDeleteSent(id: string, now: number): Promise<void>;
  /** Whether an earlier run recorded sending that DELETE. */
  deleteWasSent(id: string): Promise<boolean>;
}

// KEYS: 1 execution hash, 2 unsettled index. ARGV: 1 to, 2 step, 3 audit JSON, 4 tell, 5 now, 6 id.
const WRITE_AFTERMATH_LUA = `
redis.call('HDEL', KEYS[1], 'settledAt')
redis.call('HSET', KEYS[1], 'to', ARGV[1], 'step', ARGV[2], 'audit', ARGV[3], 'tell', ARGV[4], 'writtenAt', ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[6])
return 1
`;

export function createExecutionStore(redis: Redis, keys: Keys): ExecutionStore {
  const executionKey = (id: string) => keys.k('execution', id);
  const unsettledKey = keys.k('executions', 'unsettled');

  return {
    async writeAftermath(id, a, now) {
      await redis.eval(WRITE_AFTERMATH_LUA, 2, executionKey(id), unsettledKey, a.to, a.step, JSON.stringify(a.audit), a.tell, String(now), id);
    },

    async unsettledAftermath(id) {
      const [to, step, audit, tell, settledAt] = await redis.hmget(executionKey(id), 'to', 'step', 'audit', 'tell', 'settledAt');
      if (!to || !step || !audit || tell == null || settledAt) return undefined;
      return { to: to as RequestStatus, step, audit: JSON.parse(audit) as AuditInput, tell };
    },

    async markSettled(id, now) {
      // Once settled, only a re-run of the same request reads it: it goes with the request's hash.
      await redis.multi().hset(executionKey(id), 'settledAt', String(now)).pexpire(executionKey(id), FINISHED_REQUEST_TTL_MS).exec();
      await redis.zrem(unsettledKey, id);
    },

    async unlist(id) {
      await redis.zrem(unsettledKey, id);
    },

    async unsettledWrittenBy(writtenBy, limit) {
      return redis.zrangebyscore(unsettledKey, '-inf', String(writtenBy), 'LIMIT', 0, limit);
    },

    async noteDeleteSent(id, now) {
      await redis.hset(executionKey(id), 'deleteSentAt', String(now));
    },

    async deleteWasSent(id) {
      return Boolean(await redis.hget(executionKey(id), 'deleteSentAt'));
    },
  };
}
