/**
 * `npm run demo`'s closing table: the tiny model's greedy accuracy before and after its SFT run,
 * on problems the SFT trained on ("seen") and on problems it never saw ("new"), side by side,
 * with a sentence that says what the numbers mean.
 *
 * Usage (scripts/demo.sh): stagewise runs list --json | node dist/scripts/demo-gain-table.js \
 *   --steps N seen=BEFORE_RUN_ID,AFTER_RUN_ID new=BEFORE_RUN_ID,AFTER_RUN_ID
 * Each run is a PROBE; its `probe/pass_at_1` and `probe/problems` metrics are what is shown.
 */
import fs from 'node:fs';

export interface ProbeRun {
  id: string;
  status: string;
  metrics: Record<string, unknown>;
}

export interface GainRow {
  split: 'seen' | 'new';
  problems: number;
  before: number;
  after: number;
}

const SPLIT_LABELS: Record<GainRow['split'], string> = {
  seen: 'seen (in the SFT set)',
  new: 'new (never trained on)',
};

/** A PROBE run's pass@1 and problem count; throws when the run did not succeed or has none. */
export function probeFigures(
  run: ProbeRun | undefined,
  id: string,
): { passAt1: number; problems: number } {
  if (!run) throw new Error(`run ${id} is not in the list`);
  const passAt1 = run.metrics['probe/pass_at_1'];
  const problems = run.metrics['probe/problems'];
  if (run.status !== 'SUCCEEDED' || typeof passAt1 !== 'number' || typeof problems !== 'number') {
    throw new Error(`run ${id} (${run.status}) has no probe/pass_at_1`);
  }
  return { passAt1, problems };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/**
 * Below this gap (5 points) seen and new differ by no more than 200 problems per split can tell
 * apart (a standard error of up to 3.5 points each), so no memorisation is claimed.
 */
const MEMORISATION_GAP = 0.05;

/** The table, one line per split, columns aligned. */
export function formatGainTable(rows: GainRow[]): string {
  const header = ['split', 'problems', 'before SFT', 'after SFT', 'change'];
  const cells = rows.map((r) => {
    const points = 100 * (r.after - r.before);
    return [
      SPLIT_LABELS[r.split],
      String(r.problems),
      pct(r.before),
      pct(r.after),
      `${points >= 0 ? '+' : ''}${points.toFixed(1)} points`,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...cells.map(line)].join('\n');
}

/**
 * What the numbers mean, from the numbers: a gain on seen problems is the SFT working; a gain on
 * new ones is the model learning the arithmetic rather than memorising answers; a clear gap between
 * the two is memorisation. Says so plainly when there is no gain, with the knob to turn.
 */
export function explainGain(rows: GainRow[], steps: number): string {
  const seen = rows.find((r) => r.split === 'seen');
  const fresh = rows.find((r) => r.split === 'new');
  const lines = [
    `Greedy accuracy (pass@1 at temperature 0) of the tiny model from scratch ("before") and after ` +
      `${steps} SFT steps on the explicit teacher traces of demo-arith ("after").`,
  ];
  if (seen && seen.after > seen.before) {
    lines.push(
      `It now solves ${pct(seen.after)} of the problems it trained on, up from ${pct(seen.before)}.`,
    );
  } else if (seen) {
    lines.push(
      `No gain on the problems it trained on (${pct(seen.before)} -> ${pct(seen.after)}): ` +
        `too few SFT steps for this model; raise DEMO_SFT_STEPS.`,
    );
  }
  if (fresh && fresh.after > fresh.before) {
    lines.push(
      `On new problems, which it never saw, it went from ${pct(fresh.before)} to ${pct(fresh.after)}: ` +
        `what it learned carries over (some arithmetic, not only answers it saw)` +
        (seen && seen.after - fresh.after >= MEMORISATION_GAP
          ? `; the ${pct(seen.after - fresh.after)} more on seen problems is memorisation.`
          : '.'),
    );
  } else if (fresh) {
    lines.push(
      `On new problems it did not improve (${pct(fresh.before)} -> ${pct(fresh.after)}): what it learned ` +
        `does not carry over yet; more steps or more problems (DEMO_SFT_STEPS, DEMO_N) help.`,
    );
  }
  return lines.join('\n');
}

function parseArgs(argv: string[]): {
  steps: number;
  pairs: Array<[GainRow['split'], string, string]>;
} {
  let steps = NaN;
  const pairs: Array<[GainRow['split'], string, string]> = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--steps') {
      steps = Number(argv[++i]);
      continue;
    }
    const m = /^(seen|new)=([^,]+),([^,]+)$/.exec(arg);
    if (!m) throw new Error(`unexpected argument ${JSON.stringify(arg)}`);
    pairs.push([m[1] as GainRow['split'], m[2], m[3]]);
  }
  if (!Number.isInteger(steps) || steps < 1 || pairs.length === 0) {
    throw new Error('usage: demo-gain-table --steps N seen=BEFORE,AFTER [new=BEFORE,AFTER]');
  }
  return { steps, pairs };
}

function main(): void {
  const { steps, pairs } = parseArgs(process.argv.slice(2));
  const runs = JSON.parse(fs.readFileSync(0, 'utf8')) as ProbeRun[];
  const byId = new Map(runs.map((r) => [r.id, r]));
  const rows = pairs.map(([split, beforeId, afterId]): GainRow => {
    const before = probeFigures(byId.get(beforeId), beforeId);
    const after = probeFigures(byId.get(afterId), afterId);
    return { split, problems: after.problems, before: before.passAt1, after: after.passAt1 };
  });
  console.log(formatGainTable(rows));
  console.log('');
  console.log(explainGain(rows, steps));
}

if (require.main === module) {
  try {
    main();
  } catch (err) {
    console.error(`demo-gain-table: ${(err as Error).message}`);
    process.exitCode = 3;
  }
}
