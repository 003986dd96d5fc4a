import PgBoss from 'pg-boss';
import type { Logger } from 'pino';
import { describeDbError } from './pool-errors';
import { QUEUE_POOL_OPTIONS } from './queue-pool';

/** The process's one durable job queue (pg-boss): runs and webhook deliveries share it. */
export type JobQueue = PgBoss;

/**
 * Builds the job queue the composition root hands to every dispatcher (the runs' and the
 * webhooks'): one pg-boss instance and one pool per process. The root starts it before the
 * dispatchers and stops it after them; a dispatcher only adds and removes its workers.
 */
export function createJobQueue(databaseUrl: string, log: Logger): JobQueue {
  const boss = new PgBoss({
    connectionString: databaseUrl,
    // The runs' workers (one per launcher), the webhooks' one and the sends outside transactions.
    max: 6,
    schema: 'pgboss',
    // No cron schedules are used: their timekeeper would poll its own queue every 5 s.
    schedule: false,
    ...QUEUE_POOL_OPTIONS,
  });
  boss.on('error', (err) => log.error(describeDbError(err), 'job queue error'));
  return boss;
}

/** Stops the queue once its dispatchers have removed their workers, waiting up to `timeoutMs`. */
export function stopJobQueue(queue: JobQueue, timeoutMs = 10_000): Promise<void> {
  return queue.stop({ graceful: true, wait: true, timeout: timeoutMs });
}

/**
 * The jobs a dispatcher is handling, so that its close can wait for them (up to a limit) after
 * it removed its workers: what pg-boss's own graceful stop did when each dispatcher had one.
 */
export class InFlightJobs {
  private readonly running = new Set<Promise<unknown>>();

  track<T>(work: Promise<T>): Promise<T> {
    this.running.add(work);
    void work.finally(() => this.running.delete(work)).catch(() => undefined);
    return work;
  }

  async settle(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.running]),
      new Promise((r) => (timer = setTimeout(r, timeoutMs))),
    ]);
    clearTimeout(timer);
  }
}
