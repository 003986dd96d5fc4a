/**
 * Benchmark: what event reporting costs the runner. The tiny model's SFT, the same steps, batch
 * and seed, with `report_events: true` (PROGRESS + METRIC every step, log_every 1) and `false`
 * (STATUS only), alternated --pairs times in one process against one server. Prints training
 * steps/s of each run and the ratio on/off of the medians.
 *
 *   node dist/bench/report-overhead.js [--pairs 2] [--steps 150]
 *
 * Steps/s comes from the runner's own training clock (the loop only: not process start, model
 * build or checkpoint save): its checkpoint metadata carries tokens_per_s for both settings (a
 * checkpoint registration is not an event), and with the same seed both runs train on the same
 * tokens, so steps/s = steps x tokens_per_s / tokens, tokens from the reporting run's final METRIC.
 * PostgreSQL as for run-latency.
 */
import 'reflect-metadata';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { benchDatabase } from './bench-database';
import { benchTask } from './bench-task';
import { median, positiveIntArgs } from './bench-args';

const parseArgs = (argv: string[]) =>
  positiveIntArgs(argv, { pairs: 2, steps: 150 }, 'report-overhead [--pairs N] [--steps N]');

interface Finished {
  status: string;
  error: string | null;
  metrics: Record<string, number>;
  startedAt: string;
  finishedAt: string;
  eventCount: number;
  outputCheckpoint: { metadata: { tokens_per_s?: number } } | null;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const stopPg = await benchDatabase();
  const { t, api, datasetId, close } = await benchTask(500);
  try {
    const runOnce = async (report: boolean): Promise<Finished> => {
      const { startRun } = await api.graphql<{ startRun: { id: string } }>(
        `mutation($input: StartRunInput!) { startRun(input: $input) { id } }`,
        {
          input: {
            stage: 'SFT',
            config: {
              steps: args.steps,
              batch_size: 16,
              seed: 0,
              log_every: 1,
              save_onnx: false,
              report_events: report,
            },
            selection: {
              filter: { datasetIds: [datasetId] },
              traceKinds: ['TEACHER'],
              traceProducer: 'builtin-teacher-explicit',
            },
          },
        },
      );
      for (;;) {
        const { run } = await api.graphql<{ run: Finished & { events: { seq: number }[] } }>(
          `query($id: ID!) { run(id: $id) {
            status error metrics startedAt finishedAt
            outputCheckpoint { metadata }
            events(first: 1, afterSeq: 0) { seq }
          } }`,
          { id: startRun.id },
        );
        if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(run.status)) {
          if (run.status !== 'SUCCEEDED') throw new Error(`run ${startRun.id}: ${run.error}`);
          const [{ n }] = await t.server.ds.query<{ n: string }[]>(
            `SELECT count(*) AS n FROM run_events WHERE run_id = $1`,
            [Number(Buffer.from(startRun.id, 'base64').toString().split(':')[1])],
          );
          return { ...run, eventCount: Number(n) };
        }
        await sleep(250);
      }
    };

    console.log(
      `report-overhead: tiny-model SFT, ${args.steps} steps, batch 16, seed 0, log_every 1, ` +
        `${args.pairs} pairs alternated (off, on), local launcher, ${os.cpus().length} CPUs`,
    );
    let tokens = 0;
    const tokensPerS: Record<'on' | 'off', number[]> = { on: [], off: [] };
    const walls: Record<'on' | 'off', number[]> = { on: [], off: [] };
    const lines: string[] = [];
    for (let i = 0; i < args.pairs; i += 1) {
      for (const mode of ['off', 'on'] as const) {
        const run = await runOnce(mode === 'on');
        const tps = run.outputCheckpoint?.metadata.tokens_per_s;
        if (typeof tps !== 'number') throw new Error('no tokens_per_s in the checkpoint metadata');
        if (mode === 'on') tokens = run.metrics.tokens;
        tokensPerS[mode].push(tps);
        const wall = (Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000;
        walls[mode].push(wall);
        lines.push(
          `  ${mode.padEnd(3)} #${i + 1}: ${tps.toFixed(0).padStart(6)} tokens/s, ` +
            `${String(run.eventCount).padStart(4)} events, run wall ${wall.toFixed(1)} s`,
        );
      }
    }
    for (const l of lines) console.log(l);
    const stepsPerS = (tps: number) => (args.steps * tps) / tokens;
    const on = stepsPerS(median(tokensPerS.on));
    const off = stepsPerS(median(tokensPerS.off));
    console.log(`tokens per run: ${tokens} (the same in every run: same seed)`);
    console.log(`steps/s, reporting off: ${off.toFixed(2)}  (median)`);
    console.log(`steps/s, reporting on:  ${on.toFixed(2)}  (median)`);
    console.log(
      `ratio on/off: ${(on / off).toFixed(3)}  (reporting costs ${((1 - on / off) * 100).toFixed(1)}% of training throughput)`,
    );
    console.log(
      `run wall time (STARTING -> SUCCEEDED) median: off ${median(walls.off).toFixed(1)} s, on ${median(walls.on).toFixed(1)} s`,
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
