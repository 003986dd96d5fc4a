/**
 * Event-loop delay and GC pause figures, shared by the load check (its own loop, the load
 * generator's) and the probe it preloads into the API process (the server's loop).
 */
import fs from 'node:fs';
import type { IntervalHistogram } from 'node:perf_hooks';

export interface LoopFigures {
  /** Event-loop delay (ms): how late a 10 ms timer fired, p50 / p99 / max over the window. */
  p50: number;
  p99: number;
  max: number;
}

export interface GcFigures {
  count: number;
  /** Sum of every pause in the window, ms. */
  totalMs: number;
  maxMs: number;
  /** The part of totalMs spent in major (mark-sweep-compact) collections, ms. */
  majorMs?: number;
}

export interface LoopWindow {
  ms: number;
  /**
   * CPU time the process used in the window (user + system, ms): per operation, steadier than
   * any latency on a shared machine, whose other work delays a process without costing it CPU.
   */
  cpuMs: number;
  /**
   * Time the process's main thread waited on a run queue, ready but without a CPU (Linux's
   * /proc/self/schedstat; absent elsewhere): the share of the delay that other work on the
   * machine caused, not this process's own tasks.
   */
  runQueueMs?: number;
  loop: LoopFigures;
  gc: GcFigures;
}

/** CPU time (user + system) since `since`, ms. */
export function cpuMsSince(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return Math.round((d.user + d.system) / 1000);
}

/** Nanoseconds the main thread has waited on a run queue, from /proc; undefined off Linux. */
export function runQueueNs(): number | undefined {
  try {
    return Number(fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Run-queue wait since `since` (from runQueueNs), ms. */
export function runQueueMsSince(since: number | undefined): number | undefined {
  const now = runQueueNs();
  return since === undefined || now === undefined ? undefined : Math.round((now - since) / 1e6);
}

const ms = (ns: number) => Math.round(ns / 1e5) / 10;

/**
 * monitorEventLoopDelay measures how late its own timer fires; the timer's resolution (10 ms) is
 * subtracted so that an idle loop reads about 0.
 */
export function loopFigures(h: IntervalHistogram, resolutionMs = 10): LoopFigures {
  if (h.count === 0) return { p50: 0, p99: 0, max: 0 };
  const less = (ns: number) => Math.max(0, ms(ns) - resolutionMs);
  return {
    p50: Math.round(less(h.percentile(50)) * 10) / 10,
    p99: Math.round(less(h.percentile(99)) * 10) / 10,
    max: Math.round(less(h.max) * 10) / 10,
  };
}

export function gcFigures(pauses: number[]): GcFigures {
  return {
    count: pauses.length,
    totalMs: Math.round(pauses.reduce((a, b) => a + b, 0)),
    maxMs: Math.round(Math.max(0, ...pauses) * 10) / 10,
  };
}

export const formatWindow = (w: LoopWindow) =>
  `CPU ${(w.cpuMs / 1000).toFixed(1)} s${w.runQueueMs !== undefined ? `, waited ${(w.runQueueMs / 1000).toFixed(1)} s for one` : ''}; event-loop delay p50 ${w.loop.p50} / p99 ${w.loop.p99} / max ${w.loop.max} ms; GC ${w.gc.count} pauses, ${w.gc.totalMs} ms in all (${((100 * w.gc.totalMs) / Math.max(1, w.ms)).toFixed(1)}% of ${Math.round(w.ms / 1000)} s)${w.gc.majorMs !== undefined ? `, ${w.gc.majorMs} ms major` : ''}, longest ${w.gc.maxMs} ms`;
