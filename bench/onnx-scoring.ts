/**
 * Benchmark: scoring traces with the student in-process (onnxruntime-node, src/scoring) against
 * the runner's PyTorch scorer (python3 -m gpu_runner.models.scoring), on the same traces of the
 * built-in task, the same checkpoint (a few offline SFT steps of the real runner), the same batch
 * size and threads. Rounds alternate the two; prints traces/s and tokens/s of each (median round),
 * the ratio, and the largest difference between their scores.
 *
 *   node dist/bench/onnx-scoring.js [--traces 2000] [--batch 16] [--threads 2] [--rounds 3]
 *
 * Only the scoring loops are timed: on the Python side the tool's own clock around its loop (no
 * process start, torch import, model load or file I/O); on the ONNX side `score()` after `open()`
 * (the session load is printed apart).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StudentScorer } from '../src/scoring/student-scorer';
import { builtinTraces, pytorchScores, trainStudent } from '../tests/helpers/student';
import { median, positiveIntArgs } from './bench-args';

const parseArgs = (argv: string[]) =>
  positiveIntArgs(
    argv,
    { traces: 2000, batch: 16, threads: 2, rounds: 3 },
    'onnx-scoring [--traces N] [--batch N] [--threads N] [--rounds N]',
  );
const rate = (x: number) => Math.round(x).toLocaleString('en-US').padStart(9);

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stagewise-bench-scoring-'));
  try {
    const traces = builtinTraces(dir, Math.ceil(args.traces / 2)).slice(0, args.traces);
    const checkpoint = trainStudent(dir, traces.slice(0, 512));
    const t0 = performance.now();
    const scorer = await StudentScorer.open(checkpoint, {
      batchSize: args.batch,
      intraOpNumThreads: args.threads,
    });
    const openMs = performance.now() - t0;
    try {
      const tokens = traces
        .map((t) => scorer.encode(t))
        .reduce((n, e) => n + e.prompt.length + e.completion.length, 0);
      console.log(
        `onnx-scoring: ${traces.length} built-in traces (${tokens} tokens), batch ${args.batch}, ` +
          `${args.threads} threads, ${os.cpus().length} CPUs; onnxruntime session opened in ` +
          `${Math.round(openMs)} ms`,
      );
      await scorer.score(traces.slice(0, args.batch)); // first-run allocations, untimed
      const onnxSeconds: number[] = [];
      const torchSeconds: number[] = [];
      let maxDiff = 0;
      console.log(`round  ${'ONNX traces/s'.padStart(14)}  ${'PyTorch traces/s'.padStart(17)}`);
      for (let r = 1; r <= args.rounds; r += 1) {
        const torch = pytorchScores(dir, checkpoint, traces, {
          batchSize: args.batch,
          threads: args.threads,
        });
        const start = performance.now();
        const scores = await scorer.score(traces);
        onnxSeconds.push((performance.now() - start) / 1000);
        torchSeconds.push(torch.seconds);
        scores.forEach((s, i) => {
          maxDiff = Math.max(maxDiff, Math.abs(s.meanNll - torch.scores[i].meanNll));
        });
        console.log(
          `${String(r).padStart(5)}  ${rate(traces.length / onnxSeconds[r - 1]).padStart(14)}  ` +
            `${rate(traces.length / torch.seconds).padStart(17)}`,
        );
      }
      const [onnx, torch] = [median(onnxSeconds), median(torchSeconds)];
      console.log(`median round (scoring loop only; tokens = prompt + completion, no padding):`);
      console.log(
        `  ONNX in-process   ${rate(traces.length / onnx)} traces/s  ${rate(tokens / onnx)} tokens/s`,
      );
      console.log(
        `  PyTorch (runner)  ${rate(traces.length / torch)} traces/s  ${rate(tokens / torch)} tokens/s`,
      );
      console.log(`  ratio ONNX/PyTorch ${(torch / onnx).toFixed(2)}x`);
      console.log(`  max |ONNX - PyTorch| mean NLL: ${maxDiff.toExponential(2)} nats`);
    } finally {
      await scorer.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
