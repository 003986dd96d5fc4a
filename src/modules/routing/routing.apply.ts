import type { EntityManager } from 'typeorm';
import { AssignmentStage } from './stage-assignment.entity';
import { routedSql, routingParams, type RoutingScope } from './routing.sql';
import type { ApplyRoutingResult, StageCount } from './routing.types';

const STAGES = Object.values(AssignmentStage);

/** Counts per stage from rows of (stage, n); the null stage is the unrouted count. */
export function stageCounts(rows: { stage: string | null; n: number }[]): {
  counts: StageCount[];
  unrouted: number;
} {
  const counts = STAGES.map((stage) => ({
    stage,
    count: rows.filter((r) => r.stage === stage).reduce((a, r) => a + r.n, 0),
  })).filter((c) => c.count > 0 || c.stage !== AssignmentStage.CRITIQUE);
  const unrouted = rows.filter((r) => r.stage === null).reduce((a, r) => a + r.n, 0);
  return { counts, unrouted };
}

/**
 * Writes one round's assignments set-based, in the caller's transaction: one statement inserts
 * new ones, updates changed ones (only when something differs, so applying twice writes
 * nothing) and removes those of samples that are no longer routed.
 */
export async function applyRoutingSql(
  manager: EntityManager,
  curriculumId: number,
  round: number,
  scope: RoutingScope,
): Promise<ApplyRoutingResult> {
  await manager.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
    `routing:${curriculumId}:${round}`,
  ]);
  const rows = await manager.query<
    { stage: string | null; n: number; inserted: number; updated: number; removed: number }[]
  >(
    `WITH routed AS MATERIALIZED (${routedSql(3)}),
     up AS (
       INSERT INTO stage_assignments (curriculum_id, round, sample_id, stage, policy_id, checkpoint_id,
                                      pass_rate, attempts, reason)
       SELECT $1, $2, r.sample_id, r.stage::assignment_stage, $3, $4, r.rate, r.attempts, r.reason
       FROM routed r WHERE r.stage IS NOT NULL
       ON CONFLICT (curriculum_id, round, sample_id) DO UPDATE SET
         stage = EXCLUDED.stage, policy_id = EXCLUDED.policy_id, checkpoint_id = EXCLUDED.checkpoint_id,
         pass_rate = EXCLUDED.pass_rate, attempts = EXCLUDED.attempts, reason = EXCLUDED.reason
       WHERE (stage_assignments.stage, stage_assignments.policy_id, stage_assignments.checkpoint_id,
              stage_assignments.pass_rate, stage_assignments.attempts, stage_assignments.reason)
         IS DISTINCT FROM (EXCLUDED.stage, EXCLUDED.policy_id, EXCLUDED.checkpoint_id,
              EXCLUDED.pass_rate, EXCLUDED.attempts, EXCLUDED.reason)
       RETURNING (xmax = 0) AS inserted),
     removed AS (
       DELETE FROM stage_assignments a USING routed r
       WHERE a.curriculum_id = $1 AND a.round = $2 AND a.sample_id = r.sample_id AND r.stage IS NULL
       RETURNING 1)
     SELECT r.stage, count(*)::int AS n,
            (SELECT count(*) FILTER (WHERE inserted) FROM up)::int AS inserted,
            (SELECT count(*) FILTER (WHERE NOT inserted) FROM up)::int AS updated,
            (SELECT count(*) FROM removed)::int AS removed
     FROM routed r GROUP BY r.stage`,
    [curriculumId, round, scope.policy.id, ...routingParams(scope)],
  );
  const { counts, unrouted } = stageCounts(rows);
  const inserted = rows[0]?.inserted ?? 0;
  const updated = rows[0]?.updated ?? 0;
  const routed = counts.reduce((a, c) => a + c.count, 0);
  return {
    counts,
    unrouted,
    inserted,
    updated,
    unchanged: routed - inserted - updated,
    removed: rows[0]?.removed ?? 0,
  };
}
