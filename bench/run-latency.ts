/**
 * Benchmark: how long a run takes to get going on the local launcher. For each of --runs short
 * SFT runs of the tiny model, measured sequentially: startRun -> the STATUS STARTING event,
 * -> STATUS RUNNING (the runner is up and has read its spec), -> the first PROGRESS event
 * (the manifest is read, the model built, the first step done). Prints each run and the medians.
 *
 *   node dist/bench/run-latency.js [--runs 5] [--steps 5]
 *
 * PostgreSQL: TEST_DATABASE_URL (an admin URL; a database is created and dropped), otherwise a
 * throwaway embedded server. The API runs in this process; the runner is the real one
 * (RUNNER_PYTHON, default /usr/bin/python3). Times are the events' commit times (createdAt, the
 * database clock on this machine) minus the wall-clock time just before startRun was sent.
 */
import 'reflect-metadata';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { benchDatabase } from './bench-database';
import { benchTask } from './bench-task';
import { median, positiveIntArgs } from './bench-args';

const parseArgs = (argv: string[]) =>
  positiveIntArgs(argv, { runs: 5, steps: 5 }, 'run-latency [--runs N] [--steps N]');
const ms = (x: number) => `${Math.round(x)} ms`.padStart(9);

interface Event {
  seq: number;
  type: string;
  payload: Record<string, unknown>;
  createdAt: string;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const stopPg = await benchDatabase();
  const { api, datasetId, close } = await benchTask(200);
  try {
    console.log(
      `run-latency: ${args.runs} SFT runs of ${args.steps} steps (tiny model, local launcher, ` +
        `${os.cpus().length} CPUs), one after another`,
    );
    console.log(
      `run  ${'STARTING'.padStart(9)}  ${'RUNNING'.padStart(9)}  ${'1st PROGRESS'.padStart(12)}  ${'SUCCEEDED'.padStart(9)}`,
    );
    const rows: { starting: number; running: number; progress: number; done: number }[] = [];
    for (let i = 0; i < args.runs; i += 1) {
      const t0 = Date.now();
      const { startRun } = await api.graphql<{ startRun: { id: string } }>(
        `mutation($input: StartRunInput!) { startRun(input: $input) { id } }`,
        {
          input: {
            stage: 'SFT',
            config: { steps: args.steps, batch_size: 8, log_every: 1, save_onnx: false, seed: i },
            selection: {
              filter: { datasetIds: [datasetId] },
              traceKinds: ['TEACHER'],
              traceProducer: 'builtin-teacher-explicit',
            },
          },
        },
      );
      let run: { status: string; events: Event[] };
      for (;;) {
        ({ run } = await api.graphql<{ run: { status: string; events: Event[] } }>(
          `query($id: ID!) { run(id: $id) { status events(first: 500) { seq type payload createdAt } } }`,
          { id: startRun.id },
        ));
        if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(run.status)) break;
        await sleep(200);
      }
      if (run.status !== 'SUCCEEDED') throw new Error(`run ${startRun.id} ended ${run.status}`);
      const at = (ok: (e: Event) => boolean) => {
        const e = run.events.find(ok);
        if (!e) throw new Error(`run ${startRun.id}: no such event`);
        return Date.parse(e.createdAt) - t0;
      };
      const row = {
        starting: at((e) => e.type === 'STATUS' && e.payload.status === 'STARTING'),
        running: at((e) => e.type === 'STATUS' && e.payload.status === 'RUNNING'),
        progress: at((e) => e.type === 'PROGRESS'),
        done: at((e) => e.type === 'STATUS' && e.payload.status === 'SUCCEEDED'),
      };
      rows.push(row);
      console.log(
        `${String(i + 1).padStart(3)}  ${ms(row.starting)}  ${ms(row.running)}  ${ms(row.progress).padStart(12)}  ${ms(row.done)}`,
      );
    }
    const med = (k: keyof (typeof rows)[number]) => median(rows.map((r) => r[k]));
    console.log(
      `med  ${ms(med('starting'))}  ${ms(med('running'))}  ${ms(med('progress')).padStart(12)}  ${ms(med('done'))}`,
    );
    console.log(
      `startRun -> first PROGRESS: median ${Math.round(med('progress'))} ms ` +
        `(min ${Math.round(Math.min(...rows.map((r) => r.progress)))}, max ${Math.round(Math.max(...rows.map((r) => r.progress)))}); ` +
        `of which startRun -> RUNNING ${Math.round(med('running'))} ms (process start, Python + torch import, spec)`,
    );
  } finally {
    await close();
    await stopPg();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
