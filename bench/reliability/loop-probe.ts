/**
 * Preloaded into the API process under test (`node --require loop-probe.js dist/src/main.js`) by
 * the load check, and nowhere else: measures the API's event-loop delay
 * (`perf_hooks.monitorEventLoopDelay`) and its garbage-collection pauses, so a latency tail can be
 * told apart from the load generator's. Each SIGUSR2 appends the figures since the previous one
 * (or since start) to `STAGEWISE_LOOP_PROBE_FILE` as one JSON line and starts counting afresh: the
 * check signals once when its load window opens and once when it closes.
 */
import fs from 'node:fs';
import { PerformanceObserver, monitorEventLoopDelay, type PerformanceEntry } from 'node:perf_hooks';
import {
  cpuMsSince,
  runQueueMsSince,
  runQueueNs,
  gcFigures,
  loopFigures,
  type LoopWindow,
} from './loop-delay';

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
