import { toGlobalId } from '../../common/ids';
import type { RoutingPolicy } from './routing-policy.entity';

/** What one routing decision is made from: a policy version, a checkpoint, the datasets. */
export interface RoutingScope {
  policy: RoutingPolicy;
  checkpointId: number;
  checkpointName: string;
  datasetIds: number[];
  /**
   * When set, the pass rates are this PROBE run's own graded rollouts of the checkpoint, not the
   * checkpoint's pass_rates, which pool every probe of it: curricula route each round on their
   * own probe, so two curricula from one base (an experiment's arms and seeds) do not route on
   * each other's attempts, nor differently by which of them probed first.
   */
  probeRunId?: number | null;
}

/** Positional parameters of routedSql, in order. */
export function routingParams(scope: RoutingScope): unknown[] {
  const p = scope.policy;
  return [
    scope.checkpointId,
    scope.datasetIds,
    p.tauLow,
    p.tauHigh,
    p.minAttempts,
    p.replayFraction,
    p.seed,
    scope.probeRunId
      ? `checkpoint ${scope.checkpointName} (probe run ${toGlobalId('Run', scope.probeRunId)}), policy ${p.name} v${p.version}`
      : `checkpoint ${scope.checkpointName}, policy ${p.name} v${p.version}`,
    scope.probeRunId ?? null,
  ];
}

/**
 * The band a pass rate falls in under a policy's thresholds, the one place they are compared:
 * 'SFT' (p <= tauLow), 'RL' (tauLow < p < tauHigh), 'MASTERED' (p >= tauHigh), or NULL when
 * there are fewer graded attempts than minAttempts (or none). Arguments are SQL expressions.
 */
export function bandSql(b: {
  rate: string;
  attempts: string;
  tauLow: string;
  tauHigh: string;
  minAttempts: string;
}): string {
  return `CASE
        WHEN ${b.attempts} IS NULL OR ${b.attempts} < ${b.minAttempts}::int THEN NULL
        WHEN ${b.rate} <= ${b.tauLow}::float8 THEN 'SFT'
        WHEN ${b.rate} < ${b.tauHigh}::float8 THEN 'RL'
        ELSE 'MASTERED' END`;
}

/**
 * Every sample of the datasets with the stage the policy gives it under the checkpoint's pass
 * rates (or its probe run's, RoutingScope.probeRunId): its band (bandSql), a mastered one drawn for REPLAY by a seeded, deterministic
 * replayFraction, else DROPPED; stage NULL when the sample is not routed (too few graded
 * attempts). Parameters: routingParams, from $1; `o` shifts them when the caller has its own
 * first. Columns: sample_id, stage, rate, attempts, successes, reason.
 */
export function routedSql(o = 0): string {
  const $ = (i: number) => `$${i + o}`;
  const evidence = `format('p = %s (%s/%s correct)', round(pr.rate::numeric, 3), pr.successes, pr.attempts)`;
  const band = bandSql({
    rate: 'pr.rate',
    attempts: 'pr.attempts',
    tauLow: $(3),
    tauHigh: $(4),
    minAttempts: $(5),
  });
  return `SELECT s.id AS sample_id, pr.rate, pr.attempts, pr.successes, r.stage,
      CASE r.stage
        WHEN 'SFT' THEN format('%s <= tauLow %s: not solved yet, learn it by SFT (%s)', ${evidence}, ${$(3)}::float8, ${$(8)}::text)
        WHEN 'RL' THEN format('tauLow %s < %s < tauHigh %s: partly solved, improve it by RL (%s)', ${$(3)}::float8, ${evidence}, ${$(4)}::float8, ${$(8)}::text)
        WHEN 'REPLAY' THEN format('%s >= tauHigh %s: mastered; drawn for replay against forgetting (fraction %s, seed %s) (%s)', ${evidence}, ${$(4)}::float8, ${$(6)}::float8, ${$(7)}::int, ${$(8)}::text)
        WHEN 'DROPPED' THEN format('%s >= tauHigh %s: mastered, dropped (%s)', ${evidence}, ${$(4)}::float8, ${$(8)}::text)
      END AS reason
    FROM samples s
    LEFT JOIN (
      SELECT p.sample_id, p.rate, p.attempts, p.successes FROM pass_rates p
      WHERE ${$(9)}::bigint IS NULL AND p.checkpoint_id = ${$(1)}::int
      UNION ALL
      SELECT t.sample_id, avg(t.correct::int)::float8, count(*)::int,
             count(*) FILTER (WHERE t.correct)::int
      FROM traces t
      WHERE ${$(9)}::bigint IS NOT NULL AND t.run_id = ${$(9)}::bigint AND t.kind = 'ROLLOUT'
        AND t.correct IS NOT NULL
      GROUP BY t.sample_id) pr ON pr.sample_id = s.id
    CROSS JOIN LATERAL (SELECT ${band} AS band) b
    CROSS JOIN LATERAL (SELECT CASE
        WHEN b.band IS DISTINCT FROM 'MASTERED' THEN b.band
        WHEN abs(hashtextextended(s.id::text, ${$(7)}::int)) % 1000000 < ${$(6)}::float8 * 1000000 THEN 'REPLAY'
        ELSE 'DROPPED' END AS stage) r
    WHERE s.dataset_id = ANY(${$(2)}::int[])`;
}

/**
 * The RL prompts of a curriculum round ($1, $2): its SFT and RL samples that checkpoint $3 (the
 * post-SFT student) partly solves, in the RL band of the policy's thresholds ($4 tauLow,
 * $5 tauHigh, $6 minAttempts). Columns as ManifestService.freezeFromSql takes them.
 */
export const PARTLY_SOLVED_SQL = `
  SELECT a.sample_id, NULL::bigint AS trace_id, a.sample_id AS sort_key
  FROM stage_assignments a
  JOIN pass_rates pr ON pr.sample_id = a.sample_id AND pr.checkpoint_id = $3
  WHERE a.curriculum_id = $1 AND a.round = $2 AND a.stage IN ('SFT', 'RL')
    AND ${bandSql({ rate: 'pr.rate', attempts: 'pr.attempts', tauLow: '$4', tauHigh: '$5', minAttempts: '$6' })} = 'RL'`;
