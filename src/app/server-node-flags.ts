/**
 * The Node flags the API server runs with: `npm start` (scripts/start.sh), the API image's CMD
 * (tests/containers checks they match) and the benchmarks and reliability checks that start the
 * server as production does all read this list.
 *
 * A 64 MB young generation (V8's default semi-space tops out at 16 MB). A big GraphQL answer
 * allocates ~3 MB and lives for a few milliseconds; with 16 MB semi-spaces the scavenger runs
 * every few answers and copies the ones in flight, so garbage collection took 20-21% of the main
 * thread on `npm run bench:api`'s big query on an idle machine; with 64 MB, 4%, and CPU per big
 * request fell from 6.2 to 3.9 ms (bench/README.md). It was tried once before and dropped: on the
 * reliability load check (200 clients) each scavenge then copied hundreds of answers in flight
 * and the p99 latency tripled. Since then lean reads run at most GRAPHQL_MAX_CONCURRENT_READS at
 * once (ExecutionGate), which bounds what a scavenge finds alive: the load check's p99 stayed at
 * 14-67 ms per operation (10-36 ms with V8's default) and its longest GC pause at 10-35 ms, the
 * check's own forced full collections included. The young generation may grow to
 * 3 x 64 MB instead of 3 x 16 MB; the load check's API stayed at ~245 MB resident either way.
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];
