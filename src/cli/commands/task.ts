/**
 * `stagewise task load`: generates the built-in arithmetic task with the gpu-runner's generator
 * and imports its samples and teacher traces through the NDJSON endpoints.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { ApiClient, ApiError, UsageError } from '../api-client';
import { EXIT, runnerDir, runnerPython } from './shared';
import { intOption, noPositionals, parse, runSubcommand } from './args';
import { formatDuration } from './output';

export const TASK_USAGE = `Usage:
  stagewise task load --dataset NAME [--n 1000] [--seed 0] [--split train|eval] [--levels 1,2,3]

Generates the built-in arithmetic word problems (python3 -m gpu_runner.tasks.arithmetic), creates
the dataset when it does not exist, and imports the samples, then the teacher traces, through
POST /v1/datasets/NAME/samples and /traces. Re-running with the same seed imports nothing new.`;

interface ImportResult {
  inserted: number;
  existing: number;
  duplicateCount?: number;
}

function countLines(file: string): number {
  const data = fs.readFileSync(file);
  let n = 0;
  for (const byte of data) if (byte === 10) n += 1;
  return n;
}

function generate(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const cwd = runnerDir();
    if (!fs.existsSync(path.join(cwd, 'gpu_runner'))) {
      reject(new UsageError(`gpu-runner not found at ${cwd} (set RUNNER_DIR)`));
      return;
    }
    const child = spawn(runnerPython(), ['-m', 'gpu_runner.tasks.arithmetic', ...args], {
      cwd,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) =>
      reject(new UsageError(`cannot run ${runnerPython()}: ${err.message} (set RUNNER_PYTHON)`)),
    );
    child.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`the task generator failed (exit ${code}):\n${stderr.trim()}`)),
    );
  });
}

/** Sends one file with a progress line (redrawn on a TTY, one line at the end otherwise). */
async function importFile(
  api: ApiClient,
  what: 'samples' | 'traces',
  dataset: string,
  file: string,
): Promise<ImportResult> {
  const lines = countLines(file);
  const total = fs.statSync(file).size;
  const tty = Boolean(process.stdout.isTTY);
  const started = performance.now();
  let lastDraw = 0;
  const draw = (sent: number) => {
    const now = performance.now();
    if (!tty || (now - lastDraw < 100 && sent < total)) return;
    lastDraw = now;
    const pct = total ? Math.floor((100 * sent) / total) : 100;
    const mbps = sent / 1e6 / Math.max((now - started) / 1000, 1e-3);
    process.stdout.write(
      `\r  ${what.padEnd(7)} sending ${pct}% of ${(total / 1e6).toFixed(2)} MB (${mbps.toFixed(1)} MB/s)`,
    );
  };
  const result = await api.postNdjsonFile<ImportResult>(
    `/v1/datasets/${encodeURIComponent(dataset)}/${what}`,
    file,
    draw,
  );
  const seconds = (performance.now() - started) / 1000;
  const rate = Math.round(lines / Math.max(seconds, 1e-3));
  const dup = result.duplicateCount ? `, ${result.duplicateCount} duplicates` : '';
  process.stdout.write(
    `${tty ? '\r\x1b[K' : ''}  ${what.padEnd(7)} ${lines} lines in ${formatDuration(seconds)} ` +
      `(${rate.toLocaleString('en-US')} lines/s): ${result.inserted} inserted, ${result.existing} existing${dup}\n`,
  );
  return result;
}

async function ensureDataset(api: ApiClient, name: string, split: string): Promise<string> {
  try {
    const { dataset } = await api.graphql<{ dataset: { id: string; split: string } }>(
      `query($name: String!) { dataset(name: $name) { id split } }`,
      { name },
    );
    if (dataset.split !== split) {
      console.error(`note: dataset ${name} exists with split ${dataset.split}; keeping it`);
    }
    return dataset.id;
  } catch (err) {
    if (!(err instanceof ApiError && err.code === 'NOT_FOUND')) throw err;
  }
  const { createDataset } = await api.graphql<{ createDataset: { id: string } }>(
    `mutation($input: CreateDatasetInput!) { createDataset(input: $input) { id } }`,
    { input: { name, split } },
  );
  console.log(`Created dataset ${name} (${split}), id ${createDataset.id}`);
  return createDataset.id;
}

async function load(api: ApiClient, argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      dataset: { type: 'string' },
      n: { type: 'string', default: '1000' },
      seed: { type: 'string', default: '0' },
      split: { type: 'string', default: 'train' },
      levels: { type: 'string' },
    },
    TASK_USAGE,
  );
  noPositionals(positionals, TASK_USAGE);
  if (!values.dataset) throw new UsageError(`--dataset is required\n\n${TASK_USAGE}`);
  const n = intOption(values.n, 'n', 1)!;
  const seed = intOption(values.seed, 'seed', 0)!;
  const split = String(values.split).toLowerCase();
  if (split !== 'train' && split !== 'eval') throw new UsageError('--split is train or eval');

  const datasetId = await ensureDataset(api, values.dataset, split.toUpperCase());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stagewise-task-'));
  try {
    const samples = path.join(dir, 'samples.ndjson');
    const traces = path.join(dir, 'traces.ndjson');
    const t0 = performance.now();
    const args = ['--n', String(n), '--seed', String(seed), '--split', split];
    if (values.levels) args.push('--levels', values.levels);
    await generate([...args, '--samples', samples, '--traces', traces]);
    console.log(
      `Generated ${n} arithmetic problems (seed ${seed}, ${split}) in ${formatDuration((performance.now() - t0) / 1000)}; importing into ${values.dataset} (${datasetId})`,
    );
    await importFile(api, 'samples', values.dataset, samples);
    await importFile(api, 'traces', values.dataset, traces);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return EXIT.OK;
}

export async function taskCommand(api: ApiClient, argv: string[]): Promise<number> {
  return runSubcommand(api, argv, { load }, TASK_USAGE);
}
