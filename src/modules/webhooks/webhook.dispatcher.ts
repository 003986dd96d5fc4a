import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { AnnouncementSource, Signal } from '../../common/pubsub';
import { toGlobalId } from '../../common/ids';
import { WebhookEvent } from './webhook.entity';
import { WebhookDeliveryStatus } from './webhook-delivery.entity';
import { InFlightJobs, type JobQueue } from '../../common/db/job-queue';
import { outsideRequestScope } from '../../common/db/request-scope';
import { withTransaction, type ContextFactory } from '../../common/request-context';

/** Runs SQL on one connection (inside the fan-out's transaction). */
type Sql = <T>(text: string, values?: unknown[]) => Promise<T[]>;

export const WEBHOOK_QUEUE = 'webhooks';
/** An idle queue is polled this often; retries that come due wait at most this long. */
const QUEUE_POLL_SECONDS = 1;

export interface WebhookDispatcherOptions {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** Seconds before the first retry; doubled (with jitter) after each further failure. */
  retryDelaySeconds: number;
  timeoutMs: number;
}

/** `X-Stagewise-Signature` of a body: what a receiver recomputes with the hook's secret. */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

interface NewDelivery {
  webhook_id: number;
  source_key: string;
  payload: Record<string, unknown>;
}

/**
 * Turns stored run STATUS events and curriculum states into deliveries, and delivers them.
 *
 * Durability: the source of truth is what writers already commit (run_events of type STATUS;
 * the curriculum row). After an announcement (runUpdated, curriculumUpdated), and in full at
 * start and after a listener resync, the events a hook has not got yet become delivery rows and
 * pg-boss jobs in one transaction; (webhook, sourceKey) is unique, so replicas and restarts
 * never queue an event twice, and an event committed just before a crash is found at the next
 * start. pg-boss then retries each job with exponential backoff, across restarts.
 */
export class WebhookDispatcher {
  private readonly boss: JobQueue;
  private readonly inFlight = new InFlightJobs();
  private unlisten = () => undefined as void;
  private readonly pendingRuns = new Set<number>();
  private readonly pendingCurricula = new Set<number>();
  private catchUpDue = false;
  private running: Promise<void> | undefined;
  private stopped = false;
  private worker?: string;
  /** Fan-outs so far: each one's number names its context. */
  private fanOuts = 0;

  constructor(
    /**
     * The application's data source (deliveries are rows like any other, written through it)
     * and the process's job queue, the one runs use, started and stopped by the composition root.
     */
    private readonly deps: {
      ds: DataSource;
      queue: JobQueue;
      announcements: AnnouncementSource;
      log: Logger;
      /** A fan-out's context (the SYSTEM principal): its transaction goes through it. */
      contextFor: ContextFactory;
    },
    private readonly opts: WebhookDispatcherOptions,
  ) {
    this.boss = deps.queue;
  }

  async start(): Promise<void> {
    await this.boss.createQueue(WEBHOOK_QUEUE, {
      name: WEBHOOK_QUEUE,
      retryLimit: this.opts.maxAttempts - 1,
      retryDelay: this.opts.retryDelaySeconds,
      retryBackoff: true,
    });
    // Polled once a second while idle; woken at once when this process queued deliveries, and
    // after each job, so a backlog drains without waiting out the interval between jobs.
    this.worker = await this.boss.work<{ deliveryId: number }>(
      WEBHOOK_QUEUE,
      { batchSize: 1, pollingIntervalSeconds: QUEUE_POLL_SECONDS },
      async ([job]) => {
        try {
          await this.inFlight.track(this.deliver(job.data.deliveryId));
        } finally {
          this.wakeWorker();
        }
      },
    );
    this.unlisten = this.deps.announcements.listen(
      ['runUpdated', 'curriculumUpdated'],
      (s: Signal) => {
        if (s.k === 'runUpdated') this.pendingRuns.add(s.id);
        else if (s.k === 'curriculumUpdated') this.pendingCurricula.add(s.id);
        else if (s.k === 'resync') this.catchUpDue = true;
        this.kick();
      },
    );
    this.catchUpDue = true;
    this.kick();
    await this.running;
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.unlisten();
    await this.running?.catch(() => undefined);
    await this.boss.offWork(WEBHOOK_QUEUE);
    await this.inFlight.settle(5_000);
  }

  /** One fan-out at a time; announcements that arrive meanwhile are coalesced into the next. */
  private kick(): void {
    if (this.running || this.stopped) return;
    // Background work on the shared pool, even when a request's announcement woke it.
    this.running = outsideRequestScope(async () => {
      try {
        while (
          !this.stopped &&
          (this.catchUpDue || this.pendingRuns.size || this.pendingCurricula.size)
        ) {
          const all = this.catchUpDue;
          this.catchUpDue = false;
          const runs = [...this.pendingRuns];
          const curricula = [...this.pendingCurricula];
          this.pendingRuns.clear();
          this.pendingCurricula.clear();
          await this.fanOut(all ? null : runs, all ? null : curricula);
        }
      } catch (err) {
        this.deps.log.error({ err }, 'webhook fan-out failed; retried at the next event');
        this.catchUpDue = true;
      } finally {
        this.running = undefined;
      }
    });
  }

  /** Queues what hooks have not got yet, for these runs and curricula (null: all of them). */
  private async fanOut(runIds: number[] | null, curriculumIds: number[] | null): Promise<void> {
    const ctx = this.deps.contextFor(`webhook-fan-out:${++this.fanOuts}`);
    const queued = await withTransaction(ctx, async ({ manager }) => {
      const m: Sql = <R>(text: string, values?: unknown[]) => manager.query<R[]>(text, values);
      const fresh: NewDelivery[] = [];
      if (runIds === null || runIds.length > 0)
        fresh.push(...(await this.runDeliveries(m, runIds)));
      if (curriculumIds === null || curriculumIds.length > 0) {
        fresh.push(...(await this.curriculumDeliveries(m, curriculumIds)));
      }
      if (fresh.length === 0) return 0;
      const rows = await m<{ id: number }>(
        `INSERT INTO webhook_deliveries (webhook_id, event_type, source_key, payload)
         SELECT x.webhook_id, x.event_type::webhook_delivery_event, x.source_key, x.payload
           FROM jsonb_to_recordset($1::jsonb)
                AS x(webhook_id int, event_type text, source_key text, payload jsonb)
         ON CONFLICT ON CONSTRAINT uq_webhook_deliveries_source DO NOTHING
         RETURNING id`,
        [JSON.stringify(fresh.map((d) => ({ ...d, event_type: d.payload.event })))],
      );
      for (const { id } of rows) await this.enqueue(m, id);
      return rows.length;
    });
    if (queued) {
      this.deps.log.debug({ queued }, 'webhook deliveries queued');
      this.wakeWorker();
    }
  }

  private wakeWorker(): void {
    if (this.worker) this.boss.notifyWorker(this.worker);
  }

  /** STATUS events of these runs, since each subscribed hook was created, not yet queued. */
  private async runDeliveries(m: Sql, runIds: number[] | null): Promise<NewDelivery[]> {
    const rows = await m<{
      webhook_id: number;
      run_id: number;
      seq: number;
      payload: Record<string, unknown>;
      at: Date;
      stage: string;
      curriculum_id: number | null;
      round: number | null;
    }>(
      `SELECT w.id AS webhook_id, e.run_id, e.seq, e.payload, e.at, r.stage::text AS stage,
              r.curriculum_id, r.round
         FROM webhooks w
         JOIN run_events e ON e.type = 'STATUS' AND e.at >= w.created_at
         JOIN runs r ON r.id = e.run_id
        WHERE w.active AND $1::webhook_event = ANY(w.events)
          AND ($2::int[] IS NULL OR e.run_id = ANY($2::int[]))
          AND NOT EXISTS (
                SELECT 1 FROM webhook_deliveries d
                 WHERE d.webhook_id = w.id
                   AND d.source_key = 'run:' || e.run_id || ':' || e.seq)
        ORDER BY e.run_id, e.seq`,
      [WebhookEvent.RUN_STATUS, runIds],
    );
    return rows.map((r) => ({
      webhook_id: r.webhook_id,
      source_key: `run:${r.run_id}:${r.seq}`,
      payload: {
        event: WebhookEvent.RUN_STATUS,
        at: new Date(r.at).toISOString(),
        run: {
          id: toGlobalId('Run', r.run_id),
          stage: r.stage,
          status: r.payload.status ?? null,
          from: r.payload.from ?? null,
          message: r.payload.message ?? null,
          seq: r.seq,
          curriculumId: r.curriculum_id === null ? null : toGlobalId('Curriculum', r.curriculum_id),
          round: r.round,
        },
      },
    }));
  }

  /** The current state of these curricula, updated since each hook was created, not yet queued. */
  private async curriculumDeliveries(m: Sql, ids: number[] | null): Promise<NewDelivery[]> {
    const rows = await m<{
      webhook_id: number;
      id: number;
      name: string;
      status: string;
      phase: string;
      current_round: number;
      rounds: number;
      pause_reason: string | null;
      updated_at: Date;
      source_key: string;
    }>(
      `SELECT w.id AS webhook_id, c.id, c.name, c.status::text AS status, c.phase::text AS phase,
              c.current_round, c.rounds, c.pause_reason, c.updated_at, k.source_key
         FROM webhooks w
         JOIN curricula c ON c.updated_at >= w.created_at
         CROSS JOIN LATERAL (
           SELECT 'curriculum:' || c.id || ':' || c.status || ':' || c.phase || ':' ||
                  c.current_round || ':' || (extract(epoch FROM c.updated_at) * 1000000)::bigint
                  AS source_key) k
        WHERE w.active AND $1::webhook_event = ANY(w.events)
          AND ($2::int[] IS NULL OR c.id = ANY($2::int[]))
          AND NOT EXISTS (
                SELECT 1 FROM webhook_deliveries d
                 WHERE d.webhook_id = w.id AND d.source_key = k.source_key)`,
      [WebhookEvent.CURRICULUM_UPDATED, ids],
    );
    return rows.map((r) => ({
      webhook_id: r.webhook_id,
      source_key: r.source_key,
      payload: {
        event: WebhookEvent.CURRICULUM_UPDATED,
        at: new Date(r.updated_at).toISOString(),
        curriculum: {
          id: toGlobalId('Curriculum', r.id),
          name: r.name,
          status: r.status,
          phase: r.phase,
          currentRound: r.current_round,
          rounds: r.rounds,
          pauseReason: r.pause_reason,
        },
      },
    }));
  }

  private async enqueue(m: Sql, deliveryId: number): Promise<void> {
    await this.boss.send(
      WEBHOOK_QUEUE,
      { deliveryId },
      {
        retryLimit: this.opts.maxAttempts - 1,
        retryDelay: this.opts.retryDelaySeconds,
        retryBackoff: true,
        db: {
          // The job commits with its delivery row, or neither does.
          executeSql: (text, values) => m(text, values).then((rows) => ({ rows })),
        },
      },
    );
  }

  /** One attempt. Throws on failure, so that pg-boss retries it (until its retry limit). */
  private async deliver(deliveryId: number): Promise<void> {
    const rows = await this.deps.ds.query<
      {
        url: string;
        secret: string;
        payload: unknown;
        status: string;
        attempts: number;
      }[]
    >(
      `SELECT w.url, w.secret, d.payload, d.status::text AS status, d.attempts
         FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
        WHERE d.id = $1`,
      [deliveryId],
    );
    const row = rows[0];
    // Deleted with its hook, or settled by an attempt whose job outlived it: nothing to do.
    if (!row || row.status !== (WebhookDeliveryStatus.PENDING as string)) return;
    const body = JSON.stringify({
      id: toGlobalId('WebhookDelivery', deliveryId),
      ...(row.payload as object),
    });
    const attempt = row.attempts + 1;
    let statusCode: number | null = null;
    let error: string | null = null;
    try {
      const res = await fetch(row.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'stagewise-webhooks',
          'x-stagewise-signature': signBody(row.secret, body),
          'x-stagewise-timestamp': String(Math.floor(Date.now() / 1000)),
          'x-stagewise-delivery': toGlobalId('WebhookDelivery', deliveryId),
          'x-stagewise-event': String((row.payload as { event?: unknown }).event),
          'x-stagewise-attempt': String(attempt),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
      statusCode = res.status;
      await res.body?.cancel().catch(() => undefined);
      if (res.status < 200 || res.status >= 300) error = `HTTP ${res.status}`;
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      error = cause?.code ?? cause?.message ?? (err as Error).message;
    }
    const ok = error === null;
    const last = attempt >= this.opts.maxAttempts;
    // pg-boss waits retryDelay * 2^(n-1) to twice that after the n-th failure: the earliest.
    const nextAttemptAt =
      ok || last
        ? null
        : new Date(Date.now() + this.opts.retryDelaySeconds * 1000 * 2 ** (attempt - 1));
    const status = ok
      ? WebhookDeliveryStatus.DELIVERED
      : last
        ? WebhookDeliveryStatus.FAILED
        : WebhookDeliveryStatus.PENDING;
    await this.deps.ds.query(
      `UPDATE webhook_deliveries
          SET attempts = $2, status_code = $3, error = $4, status = $5,
              next_attempt_at = $6, delivered_at = CASE WHEN $7 THEN now() END
        WHERE id = $1`,
      [deliveryId, attempt, statusCode, error, status, nextAttemptAt, ok],
    );
    if (!ok && !last)
      throw new Error(`webhook delivery ${deliveryId} attempt ${attempt}: ${error}`);
  }
}
