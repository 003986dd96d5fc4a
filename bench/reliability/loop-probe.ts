/**
 * Preloaded into the API process under test (`node --require loop-probe.js dist/src/main.js`) by
 * the load check, and nowhere else: measures the API's event-loop delay
 * (`perf_hooks.monitorEventLoopDelay`) and its garbage-collection pauses, so a latency tail can be
 * told apart from the load generator's. Each SIGUSR2 appends the figures since the previous one
 * (or since start) to `STAGEWISE_LOOP_PROBE_FILE` as one JSON line and starts counting afresh: the
 * check signals once when its load window opens and once when it closes.
 *
 * Each SIGWINCH (ignored by a process without the probe) runs a full garbage collection and
 * appends `{"liveHeapBytes": N}` to `STAGEWISE_HEAP_PROBE_FILE`: the heap that stays reachable,
 * which the load check's memory verdict compares over the run. Heap used sampled between
 * collections swings by the young generation's size (64 MB semi-spaces: tens of MB) and with
 * when the last major collection ran, so only a reading right after a full one tells a leak.
 */
import fs from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';
import { PerformanceObserver, monitorEventLoopDelay, type PerformanceEntry } from 'node:perf_hooks';
import {
  cpuMsSince,
  runQueueMsSince,
  runQueueNs,
  gcFigures,
  loopFigures,
  type LoopWindow,
} from './loop-delay';

const heapFile = process.env.STAGEWISE_HEAP_PROBE_FILE;
if (heapFile) {
  // `gc()` without starting the server with --expose-gc (a flag its command line must not need).
  v8.setFlagsFromString('--expose-gc');
  const collect = vm.runInNewContext('gc') as () => void;
  process.on('SIGWINCH', () => {
    collect();
    const liveHeapBytes = v8.getHeapStatistics().used_heap_size;
    fs.appendFileSync(heapFile, JSON.stringify({ liveHeapBytes }) + '\n');
  });
}

const file = process.env.STAGEWISE_LOOP_PROBE_FILE;
if (file) {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  let pauses: number[] = [];
  let majorMs = 0;
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries() as (PerformanceEntry & {
      detail?: { kind?: number };
    })[]) {
      pauses.push(entry.duration);
      // NODE_PERFORMANCE_GC_MAJOR = 4 (mark-sweep-compact).
      if (entry.detail?.kind === 4) majorMs += entry.duration;
    }
  });
  gc.observe({ entryTypes: ['gc'] });
  let since = Date.now();
  let cpu = process.cpuUsage();
  let queued = runQueueNs();
  process.on('SIGUSR2', () => {
    const window: LoopWindow = {
      ms: Date.now() - since,
      cpuMs: cpuMsSince(cpu),
      runQueueMs: runQueueMsSince(queued),
      loop: loopFigures(loop),
      gc: { ...gcFigures(pauses), majorMs: Math.round(majorMs) },
    };
    fs.appendFileSync(file, JSON.stringify(window) + '\n');
    loop.reset();
    pauses = [];
    majorMs = 0;
    since = Date.now();
    cpu = process.cpuUsage();
    queued = runQueueNs();
  });
}
