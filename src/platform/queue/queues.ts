/**
 * BullMQ queues and workers. Queues live under the install's hash-tagged prefix (`{zoomjwt}`),
 * so every key of a queue shares the Redis Cluster slot of the rest of the install.
 * Processors are looked up by queue and job name; job data carries ids only, never secrets.
 */
import { DelayedError, Queue, Worker, type Job, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../../log';
import type { Metrics } from '../../metrics';
import { QUEUE_NAMES, type Keys } from '../redis/keys';

export type QueueName = keyof typeof QUEUE_NAMES;
/** `token` is the worker's lock token for the job (what `job.moveToDelayed` needs). */
export type Processor = (job: Job, token?: string) => Promise<unknown>;
export type ProcessorTable = Partial<Record<QueueName, Record<string, Processor>>>;

export interface Queues {
  poll: Queue;
  actions: Queue;
  digest: Queue;
  all(): Queue[];
  close(): Promise<void>;
}

const DEFAULT_JOB_OPTIONS: JobsOptions = {
  // Completed jobs are kept a day (for /metrics and debugging), failed ones a week.
  removeOnComplete: { age: 86_400, count: 1_000 },
  removeOnFail: { age: 7 * 86_400 },
};

export function createQueues(connection: Redis, keys: Keys, log: Logger): Queues {
  const make = (name: string) => {
    const queue = new Queue(name, { connection, prefix: keys.base, defaultJobOptions: DEFAULT_JOB_OPTIONS });
    // Connection errors are already logged once per outage by the connection itself (platform/redis/connection.ts);
    // without a listener BullMQ would print each one to stderr.
    queue.on('error', (err) => log.debug({ queue: name, err: { message: err.message } }, 'queue error'));
    return queue;
  };
  const poll = make(QUEUE_NAMES.poll);
  const actions = make(QUEUE_NAMES.actions);
  const digest = make(QUEUE_NAMES.digest);
  const list = [poll, actions, digest];
  let closed: Promise<void> | undefined;
  return {
    poll,
    actions,
    digest,
    all: () => list,
    close: () => (closed ??= Promise.all(list.map((q) => q.close())).then(() => undefined)),
  };
}

export interface Workers {
  close(graceMs: number): Promise<void>;
}

/** One worker per queue that has processors. Concurrency is per process. */
export function startWorkers(deps: {
  connection: () => Redis;
  keys: Keys;
  processors: ProcessorTable;
  log: Logger;
  metrics: Metrics;
  concurrency?: Partial<Record<QueueName, number>>;
}): Workers {
  const workers: Worker[] = [];
  for (const [queue, table] of Object.entries(deps.processors) as Array<[QueueName, Record<string, Processor>]>) {
    const worker = new Worker(
      QUEUE_NAMES[queue],
      async (job, token) => {
        const processor = table[job.name];
        const log = deps.log.child({ queue, job: job.name, jobId: job.id });
        if (!processor) {
          log.error('no processor for job');
          throw new Error(`no processor for ${queue}/${job.name}`);
        }
        const started = process.hrtime.bigint();
        try {
          const result = await processor(job, token);
          deps.metrics.jobs.inc({ queue, name: job.name, outcome: 'completed' });
          log.info({ ms: Number(process.hrtime.bigint() - started) / 1e6, attempt: job.attemptsMade + 1 }, 'job finished');
          return result;
        } catch (err) {
          if (err instanceof DelayedError) {
            // Moved to the delayed set by the processor (e.g. until a Zoom pause ends): not a failure.
            log.info({ ms: Number(process.hrtime.bigint() - started) / 1e6, attempt: job.attemptsMade + 1 }, 'job delayed');
            throw err;
          }
          deps.metrics.jobs.inc({ queue, name: job.name, outcome: 'failed' });
          log.warn({ ms: Number(process.hrtime.bigint() - started) / 1e6, attempt: job.attemptsMade + 1, err: { message: (err as Error).message } }, 'job failed');
          throw err;
        } finally {
          deps.metrics.jobDuration.observe({ queue, name: job.name }, Number(process.hrtime.bigint() - started) / 1e9);
        }
      },
      {
        connection: deps.connection(),
        prefix: deps.keys.base,
        concurrency: deps.concurrency?.[queue] ?? (queue === 'actions' ? 8 : 2),
        // Jobs are short; a stalled job (its worker died) is picked up again after 30 s.
        stalledInterval: 30_000,
      },
    );
    let lastError = '';
    worker.on('error', (err) => {
      // One line per distinct error, not one per reconnect attempt.
      if (err.message !== lastError) deps.log.warn({ queue, err: { message: err.message } }, 'worker error');
      lastError = err.message;
    });
    workers.push(worker);
  }
  return {
    async close(graceMs) {
      // pause() takes no new job and waits for the running ones; past the grace period the close
      // is forced, so shutdown is bounded. Not close() then close(true): BullMQ answers a second
      // close() with the first one's promise, so the forced close would wait for the jobs too.
      const finished = Promise.all(workers.map((w) => w.pause()));
      const timedOut = await Promise.race([
        finished.then(() => false),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(true), graceMs).unref()),
      ]);
      if (timedOut) deps.log.warn({ graceMs }, 'jobs still running at shutdown; forcing workers closed (BullMQ will retry them)');
      await Promise.all(workers.map((w) => w.close(timedOut)));
    },
  };
}
