/**
 * The Node flags the API server runs with: `npm start` (scripts/start.sh), the API image's CMD
 * (tests/containers checks they match) and the benchmarks and reliability checks that start the
 * server as production does all read this list. It is empty: V8's defaults won the measurements.
 *
 * Tried and not shipped, a 64 MB young generation (`--max-semi-space-size=64`; V8's default tops
 * out at 16 MB). On `npm run bench:api`'s big query (20 clients, ~5 MB of garbage per answer) it
 * cut garbage collection from 22-27% of the main thread to 3-5% and CPU per request by a third;
 * 32 MB did not help. But on the reliability load check (200 clients, many small answers in
 * flight) each scavenge then copied more live objects: the longest GC pause went from 16-24 ms
 * to 43-61 ms, p99 latency per operation from 252-367 ms to 398-1,029 ms (paged), and resident
 * memory grew through the run. The many-clients tail matters more (bench/README.md).
 */
export const SERVER_NODE_FLAGS: readonly string[] = [];
