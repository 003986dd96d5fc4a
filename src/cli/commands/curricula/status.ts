/** `curricula status ID`: the curriculum's state and one table line per round with its figures. */
import type { ApiClient } from '../../api-client';
import { EXIT } from '../shared';
import { parse } from '../args';
import { formatNumber, table } from '../output';
import { curriculumId, fetchCurriculum, type CurriculumView } from './curriculum';
import { bridgeWritten, critiqueYield, num, pct, roundLabel, runLine } from './text';
import { CURRICULA_USAGE } from './usage';

/** The per-round table and the curriculum's state, as `curricula status` prints them. */
export function renderStatus(c: CurriculumView): string {
  const out: string[] = [];
  out.push(
    `Curriculum ${c.name} (${c.id}): ${c.status}, ${roundLabel(c)}, phase ${c.phase}` +
      (c.status === 'PAUSED' && c.pauseReason ? `\n  paused: ${c.pauseReason}` : ''),
  );
  out.push(
    `  base ${c.baseCheckpoint.name}; policy ${c.policy.name} v${c.policy.version} ` +
      `(bridge ${c.policy.bridgeStrategy}); trains on ${c.datasets.map((d) => d.name).join(', ')}` +
      `; evaluates on ${c.evalDatasets.map((d) => d.name).join(', ') || 'nothing'}; launcher ` +
      `${c.launcher.toLowerCase()}${c.autoAdvance ? '' : '; no auto-advance'}`,
  );
  out.push(`  current run: ${runLine(c.currentRun)}`);
  if (!c.roundResults.length) {
    out.push('', 'No round has started yet.');
    return out.join('\n');
  }
  const rows = c.roundResults.map((r) => {
    const s = r.stats ?? {};
    const per = s.samplesPerStage ?? {};
    const stage = (name: string) => (s.samplesPerStage ? num(per[name] ?? 0) : '-');
    const acc = s.evalAccuracy;
    const base = s.baseEvalAccuracy;
    const delta =
      typeof acc === 'number' && typeof base === 'number'
        ? `${acc >= base ? '+' : ''}${((acc - base) * 100).toFixed(1)}`
        : '-';
    return [
      String(r.round),
      `${r.startCheckpoint?.name ?? '?'} -> ${r.endCheckpoint?.name ?? '…'}`,
      stage('SFT'),
      stage('RL'),
      stage('REPLAY'),
      stage('DROPPED'),
      num(s.unrouted),
      num(s.moved),
      num(bridgeWritten(s.bridge)),
      critiqueYield(s.critiques),
      pct(s.sftEvalAccuracy),
      pct(acc),
      pct(base),
      delta,
    ];
  });
  out.push(
    '',
    table(
      [
        'ROUND',
        'CHECKPOINTS (start -> end)',
        'SFT',
        'RL',
        'REPLAY',
        'DROPPED',
        'UNROUTED',
        'MOVED',
        'BRIDGED',
        'CRITIQUES ok/harvested',
        'SFT ACC',
        'EVAL ACC',
        'BASE ACC',
        'DELTA',
      ],
      rows,
    ),
  );
  const moves = c.roundResults.filter((r) => r.stats?.moves && Object.keys(r.stats.moves).length);
  for (const r of moves) {
    const list = Object.entries(r.stats.moves!)
      .map(([k, n]) => `${k} ${formatNumber(n)}`)
      .join(', ');
    out.push(`  round ${r.round} moves: ${list}`);
  }
  return out.join('\n');
}

export async function status(api: ApiClient, argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { json: { type: 'boolean', default: false } },
    CURRICULA_USAGE,
  );
  const c = await fetchCurriculum(api, curriculumId(positionals, 'status'));
  console.log(values.json ? JSON.stringify(c) : renderStatus(c));
  return EXIT.OK;
}
