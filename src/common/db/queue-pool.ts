/**
 * Pool options every pg-boss instance of ours spreads into its config (pg-boss hands its config
 * to pg.Pool). pg-pool's end() drops the requests still waiting for a connection without settling
 * them, so a worker whose fetch waited for one when pg-boss ended its pool would await it forever,
 * and pg-boss's stop polls every second until that worker stops: the process never exited (seen
 * under load, with more workers than connections, after `npm run bench:subscriptions` printed).
 * A bounded wait fails such a fetch instead; the worker sees it is stopping and stops.
 */
export const QUEUE_POOL_OPTIONS = { connectionTimeoutMillis: 5_000 };
