/**
 * The Node flags the API server runs with: `npm start` (scripts/start.sh), the API image's CMD,
 * and the benchmarks and reliability checks that start it as production does all read this list.
 *
 * Why a 64 MB young generation (V8's default semi-space tops out at 16 MB): a large GraphQL
 * answer allocates ~5 MB that die as soon as it is sent, but with 20 such answers in flight a
 * 16 MB semi-space fills before they die, so each scavenge copies live answers and promotes them
 * to the old generation, which then needs mark-compact collections. Measured with
 * `npm run bench:api` (big query: 100 samples x 10 traces, 20 clients): GC went from 22-27% of
 * the main thread to 3-5% and CPU per request from 20-23 to 13-15 ms; 32 MB did not help (23%).
 * It costs up to ~190 MB more resident memory under load (three semi-spaces), nothing when idle.
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];
