import type { EntityManager } from 'typeorm';
import type { Run } from '../runs/run.entity';

/**
 * How many samples changed stage since the previous round, and between which stages
 * (`moves`: "SFT->RL": n). Samples new to this round or left out of it are not moves.
 */
export async function movedStats(
  m: EntityManager,
  curriculumId: number,
  round: number,
): Promise<{ moved: number; moves: Record<string, number> }> {
  const rows = await m.query<{ from: string; to: string; n: number }[]>(
    `SELECT b.stage::text AS "from", a.stage::text AS "to", count(*)::int AS n
     FROM stage_assignments a
     JOIN stage_assignments b ON b.curriculum_id = a.curriculum_id AND b.round = a.round - 1
       AND b.sample_id = a.sample_id
     WHERE a.curriculum_id = $1 AND a.round = $2 AND a.stage <> b.stage
     GROUP BY 1, 2 ORDER BY 1, 2`,
    [curriculumId, round],
  );
  return {
    moved: rows.reduce((a, r) => a + r.n, 0),
    moves: Object.fromEntries(rows.map((r) => [`${r.from}->${r.to}`, r.n])),
  };
}

/** Critique yield of a CRITIQUE run: harvested failures, critiques written, verified ones. */
export async function critiqueStats(
  m: EntityManager,
  run: Run,
): Promise<{ harvested: number; written: number; verified: number }> {
  const [row] = await m.query<{ harvested: number; written: number; verified: number }[]>(
    `SELECT (SELECT item_count FROM manifests WHERE id = $2)::int AS harvested,
            count(*)::int AS written, count(*) FILTER (WHERE verified)::int AS verified
     FROM critiques WHERE run_id = $1`,
    [run.id, run.manifestId],
  );
  return row;
}
