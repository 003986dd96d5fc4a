/** How the `curricula` commands write a curriculum's figures: percentages, rounds, runs. */
import { formatNumber, stepCount } from '../output';
import type { CurriculumView, RoundStats, RunView } from './curriculum';

export const pct = (v: unknown) => (typeof v === 'number' ? `${(v * 100).toFixed(1)}%` : '-');
export const num = (v: unknown) => (typeof v === 'number' ? formatNumber(v) : '-');

/** "round 2/3", or "round -/3" before the first. */
export function roundLabel(c: Pick<CurriculumView, 'currentRound' | 'rounds'>): string {
  return c.currentRound ? `round ${c.currentRound}/${c.rounds}` : `round -/${c.rounds}`;
}

/** "SFT run UnVuOjE RUNNING step 5/20", or "none". */
export function runLine(run: RunView | null): string {
  if (!run) return 'none';
  const steps = stepCount(run.progress);
  return [`${run.stage} run ${run.id}`, run.status, steps ? `step ${steps}` : '']
    .filter(Boolean)
    .join(' ');
}

/** Traces the round's bridge wrote (select, hint) or kept (rewrite). */
export function bridgeWritten(b: Record<string, unknown> | undefined): unknown {
  if (!b) return undefined;
  return b.written ?? b.verified ?? b.rewritten;
}

/** "verified/harvested" critiques of a round, or "-". */
export function critiqueYield(c: RoundStats['critiques']): string {
  if (!c) return '-';
  return `${num(c.verified ?? 0)}/${num(c.harvested ?? 0)}`;
}
