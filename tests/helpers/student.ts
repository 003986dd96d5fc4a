/**
 * The tiny student for scoring tests and benchmarks, made by the runner itself with no API: the
 * built-in task's traces (gpu_runner.tasks.arithmetic), a checkpoint with its ONNX export from a
 * few offline SFT steps (`python3 -m gpu_runner --offline`), and the PyTorch scores of traces
 * under it (gpu_runner.models.scoring).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** The gpu-runner folder of this repository (<out>/tests/helpers -> <out>/.. -> gpu-runner). */
export const RUNNER_DIR = path.resolve(__dirname, '..', '..', '..', 'gpu-runner');
export const PYTHON = '/usr/bin/python3';
const PY_ENV = { ...process.env, PYTHONPATH: RUNNER_DIR, OPENBLAS_NUM_THREADS: '1' };

const python = (args: string[]) =>
  execFileSync(PYTHON, args, { cwd: RUNNER_DIR, env: PY_ENV, encoding: 'utf8' });

const readNdjson = (file: string) =>
  fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line));

export interface BuiltinTrace {
  problem: string;
  completion: string;
  /** Teacher style: raw (terse) or explicit (one step per result). */
  producer: string;
}

/** The teacher traces (raw and explicit: 2 per problem) of `problems` built-in problems. */
export function builtinTraces(dir: string, problems: number, seed = 0): BuiltinTrace[] {
  const samples = path.join(dir, 'samples.ndjson');
  const traces = path.join(dir, 'traces.ndjson');
  python([
    ...['-m', 'gpu_runner.tasks.arithmetic', '--n', String(problems), '--seed', String(seed)],
    ...['--samples', samples, '--traces', traces],
  ]);
  const problemOf = new Map(readNdjson(samples).map((s) => [s.externalId, s.problem as string]));
  return readNdjson(traces).map((t) => ({
    problem: problemOf.get(t.sampleExternalId)!,
    completion: t.text,
    producer: t.producer,
  }));
}

/**
 * A tiny-GPT checkpoint directory (with model.onnx) from `steps` offline SFT steps of the real
 * runner on `traces`, seed 0: a trained model, so its log-probabilities are far from uniform.
 */
export function trainStudent(dir: string, traces: BuiltinTrace[], steps = 40): string {
  const manifest = path.join(dir, 'manifest.ndjson');
  fs.writeFileSync(
    manifest,
    traces
      .map((t, i) =>
        JSON.stringify({
          ordinal: i + 1,
          sampleId: `S${i}`,
          problem: t.problem,
          trace: { id: `T${i}`, kind: 'TEACHER', text: t.completion },
        }),
      )
      .join('\n') + '\n',
  );
  const config = {
    steps,
    batch_size: 16,
    lr: 3e-3,
    warmup_steps: 2,
    log_every: steps,
    seed: 0,
    num_threads: 2,
    checkpoint_name: 'student',
  };
  const spec = path.join(dir, 'spec.json');
  fs.writeFileSync(
    spec,
    JSON.stringify({
      run: { id: 'UnVuOjE', stage: 'SFT', attempt: 1, config },
      inputCheckpoint: null,
      manifest: {
        id: 'TWFuaWZlc3Q6MQ',
        purpose: 'SFT',
        itemCount: traces.length,
        sha256: '0'.repeat(64),
      },
    }),
  );
  const workDir = path.join(dir, 'run');
  python(
    ['-m', 'gpu_runner', '--offline', '--quiet', '--spec', spec, '--manifest', manifest].concat([
      '--work-dir',
      workDir,
    ]),
  );
  return path.join(workDir, 'checkpoints', 'student');
}

/** The PyTorch reference: per-trace mean NLL and tokens, and the seconds of its scoring loop alone. */
export function pytorchScores(
  dir: string,
  checkpointDir: string,
  items: { problem: string; completion: string }[],
  opts: { batchSize?: number; maxTokens?: number; threads?: number } = {},
): { scores: { meanNll: number; tokens: number }[]; seconds: number } {
  const input = path.join(dir, 'score-items.jsonl');
  const output = path.join(dir, 'scores.jsonl');
  fs.writeFileSync(
    input,
    items
      .map((it) => JSON.stringify({ problem: it.problem, completion: it.completion }))
      .join('\n') + '\n',
  );
  const printed = python([
    ...['-m', 'gpu_runner.models.scoring', '--checkpoint', checkpointDir],
    ...['--items', input, '--out', output],
    ...[
      '--batch-size',
      String(opts.batchSize ?? 16),
      '--max-seq-len',
      String(opts.maxTokens ?? 512),
    ],
    ...['--threads', String(opts.threads ?? 2)],
  ]);
  const summary = JSON.parse(printed.trim().split('\n').pop()!) as { seconds: number };
  return { scores: readNdjson(output), seconds: summary.seconds };
}
