import os from 'node:os';
import type * as Ort from 'onnxruntime-node';

export type OnnxRuntime = typeof Ort;

let loading: Promise<OnnxRuntime> | undefined;

/**
 * onnxruntime-node, imported on first use: its native library costs start-up time and memory
 * that a server which never scores should not pay.
 */
export function onnxRuntime(): Promise<OnnxRuntime> {
  loading ??= import('onnxruntime-node');
  return loading;
}

/**
 * Intra-op threads by default: both cores of the 2-core machines this runs on (a run blocks the
 * event loop either way, so the second core shortens it), never more than the machine has.
 */
export const defaultIntraOpThreads = () => Math.max(1, Math.min(2, os.availableParallelism()));

/**
 * CPU session options. Spinning is off: on a shared CPU, pool threads that spin-wait after each
 * run burn the core the server, PostgreSQL or the runner needs (the runner sets OpenMP's passive
 * wait for the same reason).
 */
export function cpuSessionOptions(intraOpNumThreads: number): Ort.InferenceSession.SessionOptions {
  return {
    executionProviders: ['cpu'],
    intraOpNumThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}
