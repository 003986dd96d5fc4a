import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { ApolloServerPlugin } from '@apollo/server';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { RunStatus } from '../modules/runs/run.entity';
import { parseBearer } from './auth.middleware';

/** Seconds; from a fast cached read to a slow bulk page. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** What the live-subscriptions gauge reads at scrape time. */
export interface LiveSubscriptionCounts {
  ws: number;
  sse: number;
}

export interface MetricsSources {
  ds: DataSource;
  log: Logger;
  /** Open subscriptions per transport (src/app/subscriptions.ts). */
  liveSubscriptions(): LiveSubscriptionCounts;
}

/**
 * The server's Prometheus metrics, on a registry of its own (several servers share a process in
 * the tests). Counters and histograms move as requests happen; the gauges that describe the
 * database (runs by status, queue depth) are read from it at scrape time, one statement each.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  private readonly graphqlDuration: Histogram<'operation' | 'name'>;
  private readonly eventsIngested: Counter;
  private sources?: MetricsSources;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'stagewise_' });
    this.httpDuration = new Histogram({
      name: 'stagewise_http_request_duration_seconds',
      help: 'HTTP requests by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.graphqlDuration = new Histogram({
      name: 'stagewise_graphql_operation_duration_seconds',
      help: 'GraphQL operations over POST /graphql by operation type and name.',
      labelNames: ['operation', 'name'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.eventsIngested = new Counter({
      name: 'stagewise_run_events_ingested_total',
      help: 'Runner events stored (POST /v1/runs/:id/events; resends of a stored seq excluded).',
      registers,
    });
    // prom-client calls collect() with the gauge as `this`; the sources are read from here.
    const read = <T>(sql: string) => this.read<T>(sql);
    const live = () => this.sources?.liveSubscriptions() ?? { ws: 0, sse: 0 };
    new Gauge({
      name: 'stagewise_live_subscriptions',
      help: 'GraphQL subscriptions open now, by transport (ws: graphql-ws, sse: graphql-sse).',
      labelNames: ['transport'],
      registers,
      collect() {
        const open = live();
        this.set({ transport: 'ws' }, open.ws);
        this.set({ transport: 'sse' }, open.sse);
      },
    });
    new Gauge({
      name: 'stagewise_runs',
      help: 'Runs by status, read from the database at scrape time.',
      labelNames: ['status'],
      registers,
      async collect() {
        this.reset();
        for (const status of Object.values(RunStatus)) this.set({ status }, 0);
        const rows = await read<{ status: string; n: number }>(
          'SELECT status::text AS status, count(*)::int AS n FROM runs GROUP BY status',
        );
        for (const r of rows ?? []) this.set({ status: r.status }, r.n);
      },
    });
    new Gauge({
      name: 'stagewise_queue_depth',
      help: 'Jobs waiting in each pg-boss queue (created or retry; runs per launcher, webhooks).',
      labelNames: ['queue'],
      registers,
      async collect() {
        this.reset();
        // What PgBoss.getQueueSize counts (state < 'active'), for every queue in one statement.
        const rows = await read<{ queue: string; n: number }>(
          `SELECT q.name AS queue, count(j.id)::int AS n
             FROM pgboss.queue q
             LEFT JOIN pgboss.job j ON j.name = q.name AND j.state < 'active'
            GROUP BY q.name`,
        );
        for (const r of rows ?? []) this.set({ queue: r.queue }, r.n);
      },
    });
  }

  /** Connects the scrape-time gauges to the server's database and transports. */
  attach(sources: MetricsSources): void {
    this.sources = sources;
  }

  /** A scrape must still answer when the database does not (/readyz says why). */
  private async read<T>(sql: string): Promise<T[] | undefined> {
    if (!this.sources) return undefined;
    try {
      return await this.sources.ds.query<T[]>(sql);
    } catch (err) {
      this.sources.log.warn({ err }, 'a metric could not be read from the database');
      return undefined;
    }
  }

  eventsStored(n: number): void {
    if (n > 0) this.eventsIngested.inc(n);
  }

  /** Times every request; the route is the matched pattern, never the raw path (cardinality). */
  httpMiddleware(): RequestHandler {
    return (req: Request, res: Response, next: NextFunction) => {
      const end = this.httpDuration.startTimer();
      res.once('finish', () => {
        end({ method: req.method, route: routeOf(req), status: String(res.statusCode) });
      });
      next();
    };
  }

  /** Times each GraphQL operation from request to response, errors included. */
  apolloPlugin(): ApolloServerPlugin {
    const histogram = this.graphqlDuration;
    return {
      requestDidStart() {
        const end = histogram.startTimer();
        return Promise.resolve({
          willSendResponse(rc) {
            end({
              operation: rc.operation?.operation ?? 'unknown',
              name: operationName(rc.operationName),
            });
            return Promise.resolve();
          },
        });
      },
    };
  }

  /**
   * The same two observations for a POST /graphql answered by the lean path (lean-graphql.ts),
   * which runs neither Express nor Apollo: the route label is the one Express gives /graphql.
   */
  observeLeanGraphQL(
    observed: { status: number; operation: string; name: string | null | undefined },
    seconds: number,
  ): void {
    this.httpDuration.observe(
      { method: 'POST', route: '/graphql', status: String(observed.status) },
      seconds,
    );
    this.graphqlDuration.observe(
      { operation: observed.operation, name: operationName(observed.name) },
      seconds,
    );
  }

  /** GET /metrics; with `token` set, only `Authorization: Bearer <token>` may scrape. */
  handler(token: string | undefined): RequestHandler {
    const expected = token ? digest(token) : undefined;
    return (req: Request, res: Response, next: NextFunction) => {
      if (expected) {
        const given = parseBearer(req.headers.authorization);
        if (!given || !timingSafeEqual(digest(given), expected)) {
          res.status(401).set('www-authenticate', 'Bearer').type('text/plain');
          res.send('A valid metrics token is required\n');
          return;
        }
      }
      this.registry
        .metrics()
        .then((text) => {
          res.type(this.registry.contentType).send(text);
        })
        .catch(next);
    };
  }
}

/** Equal-length inputs for timingSafeEqual, whatever the given token's length. */
const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * The route pattern: the handler's path under its mount point, with path parameters put back as
 * `:name` (a router's baseUrl is the matched path, e.g. /v1/runs/UnVuOjE). Unmatched requests
 * share one label, so a scanner cannot make a series per path.
 */
function routeOf(req: Request): string {
  let base = req.baseUrl ?? '';
  for (const [name, value] of Object.entries((req.params ?? {}) as Record<string, unknown>)) {
    if (typeof value !== 'string' || !value) continue;
    base = base
      .replace(`/${encodeURIComponent(value)}`, `/:${name}`)
      .replace(`/${value}`, `/:${name}`);
  }
  const route = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof route === 'string') return base + (route === '/' && base ? '' : route);
  return base || 'unmatched';
}

/** Client-chosen names, bounded in length and alphabet. */
function operationName(name: string | null | undefined): string {
  if (!name) return 'anonymous';
  return /^[_A-Za-z][_0-9A-Za-z]{0,63}$/.test(name) ? name : 'invalid';
}
