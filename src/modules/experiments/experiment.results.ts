import type { EntityManager } from 'typeorm';
import { fromGlobalId } from '../../common/ids';
import { RunStage } from '../runs/run.entity';
import { type ArmResult, type Experiment, ExperimentArm } from './experiment.entity';
import { CURRICULUM_ARMS } from './experiment.plans';
import { discordantPairs, mcnemarExact, tInterval95 } from './experiment.stats';

interface StepRow {
  arm: ExperimentArm;
  seed: number;
  stage: RunStage;
  status: string;
  config: Record<string, unknown>;
  metrics: Record<string, unknown>;
  outcomes: { correct?: string[]; wrong?: string[] } | null;
  planned: number | null;
}

/**
 * Each arm's figures from its runs: accuracy per seed (its EVAL run), mean and 95% t-interval,
 * accuracy per difficulty level (samples' metadata.level), compute used, and the exact McNemar
 * p-values over the same eval problems of the best arm (highest mean) and of STAGEWISE against it.
 *
 * Compute used is the runner's `compute/tokens` metric where a run reports it, else the tokens
 * its steps were sized to; the planned figure is reported beside it. A method arm's seed counts
 * its curriculum's succeeded PROBE, SFT and RL runs, planned at the whole budget.
 */
export async function armResults(m: EntityManager, e: Experiment): Promise<ArmResult[]> {
  const rows = await m.query<StepRow[]>(
    `SELECT er.arm, er.seed, r.stage, r.status, r.config, r.metrics, er.planned_tokens AS planned,
            (SELECT ev.payload FROM run_events ev WHERE ev.run_id = r.id AND ev.type = 'ARTIFACT'
               AND ev.payload->>'kind' = 'eval_outcomes' ORDER BY ev.seq DESC LIMIT 1) AS outcomes
     FROM experiment_runs er JOIN runs r ON r.id = er.run_id
     WHERE er.experiment_id = $1
     UNION ALL
     SELECT ec.arm, ec.seed, r.stage, r.status, r.config, r.metrics, NULL, NULL
     FROM experiment_curricula ec JOIN runs r ON r.curriculum_id = ec.curriculum_id
     WHERE ec.experiment_id = $1 AND r.stage IN ('PROBE', 'SFT', 'RL') AND r.status = 'SUCCEEDED'
     ORDER BY 1, 2`,
    [e.id],
  );
  const levels = await levelsOf(m, rows);
  const results = e.armNames.map((arm) => {
    const mine = rows.filter((r) => r.arm === arm);
    const evals = mine.filter((r) => r.stage === RunStage.EVAL && r.status === 'SUCCEEDED');
    const accuracies = evals.map((r) => Number(r.metrics['eval/accuracy'] ?? 0));
    const outcomes = evals.map(outcomeMap);
    const ci = accuracies.length > 0 ? tInterval95(accuracies) : null;
    const seedsRun = new Set(mine.map((r) => r.seed)).size || 1;
    const training = mine.filter((r) => r.stage !== RunStage.EVAL);
    const planned = CURRICULUM_ARMS[arm]
      ? e.computeBudget * seedsRun
      : training.reduce((a, r) => a + (r.planned ?? 0), 0);
    const used = training.reduce((a, r) => a + usedOf(r), 0);
    return {
      result: {
        arm,
        seedsDone: evals.length,
        accuracies,
        meanAccuracy: ci?.mean ?? null,
        ciLow: ci?.low ?? null,
        ciHigh: ci?.high ?? null,
        levels: levelAccuracy(outcomes, levels),
        computeUsed: used / seedsRun,
        computePlanned: planned / seedsRun,
        pValueVsBest: null as number | null,
        pValueVsStagewise: null as number | null,
      },
      outcomes,
    };
  });
  const best = results
    .filter((r) => r.result.meanAccuracy !== null)
    .sort((a, b) => b.result.meanAccuracy! - a.result.meanAccuracy!)[0];
  for (const r of results) {
    if (!best || r === best || r.outcomes.length === 0) continue;
    const d = discordantPairs(best.outcomes, r.outcomes);
    r.result.pValueVsBest = mcnemarExact(d.onlyA, d.onlyB);
  }
  const method = results.find((r) => r.result.arm === ExperimentArm.STAGEWISE);
  for (const r of results) {
    if (!method || r === method || r.outcomes.length === 0 || method.outcomes.length === 0) {
      continue;
    }
    const d = discordantPairs(method.outcomes, r.outcomes);
    r.result.pValueVsStagewise = mcnemarExact(d.onlyA, d.onlyB);
  }
  return results.map((r) => r.result);
}

function usedOf(r: StepRow): number {
  const reported = r.metrics['compute/tokens'];
  return typeof reported === 'number' ? reported : (r.planned ?? 0);
}

function outcomeMap(r: StepRow): Map<string, boolean> {
  const map = new Map<string, boolean>();
  for (const id of r.outcomes?.correct ?? []) map.set(id, true);
  for (const id of r.outcomes?.wrong ?? []) map.set(id, false);
  return map;
}

/** Difficulty level of every evaluated sample (global id -> level), from samples.metadata. */
async function levelsOf(m: EntityManager, rows: StepRow[]): Promise<Map<string, number>> {
  const byRowId = new Map<string, string>();
  for (const r of rows) {
    for (const gid of [...(r.outcomes?.correct ?? []), ...(r.outcomes?.wrong ?? [])]) {
      try {
        const id = fromGlobalId(gid);
        if (id.type === 'Sample') byRowId.set(String(id.id), gid);
      } catch {
        // not a sample id: left out of the per-level figures
      }
    }
  }
  if (byRowId.size === 0) return new Map();
  const found = await m.query<{ id: string; level: number }[]>(
    `SELECT id::text, (metadata->>'level')::int AS level FROM samples
     WHERE id = ANY($1::bigint[]) AND metadata->>'level' ~ '^[0-9]+$'`,
    [[...byRowId.keys()]],
  );
  return new Map(found.map((f) => [byRowId.get(f.id)!, f.level]));
}

function levelAccuracy(outcomes: Map<string, boolean>[], levels: Map<string, number>) {
  const tally = new Map<number, { right: number; all: number }>();
  for (const seed of outcomes) {
    for (const [id, correct] of seed) {
      const level = levels.get(id);
      if (level === undefined) continue;
      const t = tally.get(level) ?? { right: 0, all: 0 };
      t.all++;
      if (correct) t.right++;
      tally.set(level, t);
    }
  }
  return [...tally.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([level, t]) => ({ level, accuracy: t.right / t.all }));
}
