/** `experiments status ID`: the experiment's state and one table line per arm. */
import type { ApiClient } from '../../api-client';
import { EXIT } from '../shared';
import { oneId, parse } from '../args';
import { printJson, table } from '../output';
import { fetchExperiment, type ExperimentView } from './experiment';
import { EXPERIMENTS_USAGE } from './usage';

export const pct = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(1)}%`);

export function renderStatus(e: ExperimentView): string {
  const out = [
    `Experiment ${e.name} (${e.id}): ${e.status}; ${e.seeds} seeds; budget ${e.computeBudget} tokens` +
      (e.pauseReason ? `\n  paused: ${e.pauseReason}` : ''),
  ];
  const hasMethod = (e.arms ?? []).some((a) => a.arm === 'STAGEWISE');
  const rows = (e.arms ?? []).map((a) => [
    a.arm,
    `${a.seedsDone}/${e.seeds}`,
    pct(a.meanAccuracy),
    a.ciLow === null || a.ciHigh === null ? '-' : `${pct(a.ciLow)}–${pct(a.ciHigh)}`,
    a.levels.map((l) => `L${l.level} ${pct(l.accuracy)}`).join(' ') || '-',
    `${Math.round(a.computeUsed)} (${Math.round(a.computePlanned)})`,
    a.pValueVsBest === null ? 'best' : a.pValueVsBest.toPrecision(2),
    ...(hasMethod ? [a.pValueVsStagewise === null ? '-' : a.pValueVsStagewise.toPrecision(2)] : []),
  ]);
  out.push(
    table(
      [
        'ARM',
        'SEEDS',
        'MEAN',
        '95% CI',
        'PER LEVEL',
        'TOKENS (PLANNED)',
        'P VS BEST',
        ...(hasMethod ? ['P VS STAGEWISE'] : []),
      ],
      rows,
    ),
  );
  return out.join('\n');
}

export async function status(api: ApiClient, argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { json: { type: 'boolean', default: false } },
    EXPERIMENTS_USAGE,
  );
  const e = await fetchExperiment(
    api,
    oneId(positionals, 'status', 'experiment', EXPERIMENTS_USAGE),
  );
  if (values.json) return printJson(e);
  console.log(renderStatus(e));
  return EXIT.OK;
}
