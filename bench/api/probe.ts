/**
 * Preloaded into each server the API benchmark starts (`node -r dist/bench/api/probe.js ...`), so
 * one piece of code measures stagewise and PostGraphile alike, from inside their own process.
 * Over IPC it answers `start` (reset the counters) and `stop` (the figures since `start`). Both
 * first wait until no HTTP request is open (its handler has not ended the response), so the work
 * of requests still in flight when the load generator stopped counts with the requests it belongs
 * to, and none leaks into the next window or into the other server's round.
 *
 * Figures: process CPU (all threads: main, GC helpers, libuv pool), main-thread GC pause time
 * (v8.GCProfiler) and the main thread's busy time (event loop utilisation), bytes allocated on
 * the V8 heap (what each collection freed plus the growth of the used heap), SQL statements
 * (calls of every loaded `pg` Client's query), HTTP requests.
 *
 * GC pauses are wall-clock times, so on a busy machine they include time the process waited for
 * a core; the event loop's busy time is stretched the same way, which keeps their ratio (GC's
 * share of the main thread) meaningful where a ratio to CPU time would not be.
 */
import diagnostics from 'node:diagnostics_channel';
import type { ServerResponse } from 'node:http';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import v8 from 'node:v8';

export interface ProbeFigures {
  requests: number;
  cpuMicros: number;
  gcMicros: number;
  /** Wall-clock time the event loop was busy (not waiting for I/O). */
  busyMicros: number;
  allocatedBytes: number;
  statements: number;
}

export type ProbeMessage = { probe: 'start' } | { probe: 'stop' };
export type ProbeReply = { probe: 'started' } | ({ probe: 'figures' } & ProbeFigures);

/**
 * How long `start` and `stop` wait for requests still in flight before going on anyway. Twenty
 * dropped big requests can take stagewise half a minute to finish on a busy machine.
 */
const DRAIN_MS = 120_000;

async function drained(): Promise<void> {
  const deadline = Date.now() + DRAIN_MS;
  while (open > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

let statements = 0;
let requests = 0;
let open = 0;

/**
 * A request is open until its handler ends the response. The load generator drops the requests
 * still in flight when a round ends; the server finishes them all the same, so their work counts
 * with the window they started in. One whose handler never ends it is let go a while after its
 * connection closed.
 */
const ABANDONED_MS = 5_000;

diagnostics.subscribe('http.server.request.start', (message) => {
  const { response } = message as { response: ServerResponse };
  requests += 1;
  open += 1;
  let settled = false;
  const settle = () => {
    if (!settled) open -= 1;
    settled = true;
  };
  const end = response.end.bind(response) as (...a: unknown[]) => ServerResponse;
  response.end = ((...args: unknown[]) => {
    settle();
    return end(...args);
  }) as typeof response.end;
  response.once('close', () => {
    if (!settled) setTimeout(settle, ABANDONED_MS).unref();
  });
});

/** pg's Client, found in the module cache: a server may load more than one copy of `pg`. */
const PG_CLIENT = /[\\/]node_modules[\\/]pg[\\/]lib[\\/]client\.js$/;
const counted = new WeakSet<object>();

function countStatementsOfLoadedPgClients(): void {
  for (const [file, mod] of Object.entries(require.cache)) {
    if (!PG_CLIENT.test(file) || !mod) continue;
    const proto = (mod.exports as { prototype: { query: (...a: unknown[]) => unknown } }).prototype;
    if (counted.has(proto)) continue;
    counted.add(proto);
    const query = proto.query;
    proto.query = function countedQuery(this: unknown, ...args: unknown[]) {
      statements += 1;
      return query.apply(this, args);
    };
  }
}

interface Window {
  cpu: NodeJS.CpuUsage;
  loop: EventLoopUtilization;
  heapUsed: number;
  requests: number;
  statements: number;
  gc: v8.GCProfiler;
}

let window: Window | undefined;

async function start(): Promise<void> {
  await drained();
  countStatementsOfLoadedPgClients();
  window?.gc.stop();
  const gc = new v8.GCProfiler();
  gc.start();
  window = {
    cpu: process.cpuUsage(),
    loop: performance.eventLoopUtilization(),
    heapUsed: v8.getHeapStatistics().used_heap_size,
    requests,
    statements,
    gc,
  };
}

async function stop(): Promise<ProbeFigures> {
  const w = window;
  if (!w) throw new Error('probe: stop before start');
  window = undefined;
  await drained();
  const cpu = process.cpuUsage(w.cpu);
  const loop = performance.eventLoopUtilization(w.loop);
  const heapUsed = v8.getHeapStatistics().used_heap_size;
  const { statistics } = w.gc.stop();
  let gcMicros = 0;
  let freed = 0;
  for (const s of statistics) {
    gcMicros += s.cost;
    freed += s.beforeGC.heapStatistics.usedHeapSize - s.afterGC.heapStatistics.usedHeapSize;
  }
  return {
    requests: requests - w.requests,
    cpuMicros: cpu.user + cpu.system,
    gcMicros,
    busyMicros: loop.active * 1000,
    allocatedBytes: freed + heapUsed - w.heapUsed,
    statements: statements - w.statements,
  };
}

if (process.send) {
  const reply = (message: ProbeReply) => process.send?.(message);
  process.on('message', (message: ProbeMessage) => {
    const fail = (err: unknown) => {
      console.error(err);
      process.exit(1);
    };
    if (message?.probe === 'start') {
      start().then(() => reply({ probe: 'started' }), fail);
    } else if (message?.probe === 'stop') {
      stop().then((figures) => reply({ probe: 'figures', ...figures }), fail);
    }
  });
  // The benchmark is gone (finished, crashed or killed): a server must not outlive it.
  process.on('disconnect', () => process.exit(0));
}
