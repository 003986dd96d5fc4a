import type { RoutingPolicy } from './routing-policy.entity';

/** What one routing decision is made from: a policy version, a checkpoint, the datasets. */
export interface RoutingScope {
  policy: RoutingPolicy;
  checkpointId: number;
  checkpointName: string;
  datasetIds: number[];
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
    `checkpoint ${scope.checkpointName}, policy ${p.name} v${p.version}`,
  ];
}

/**
 * Every sample of the datasets with the stage the policy gives it under the checkpoint's pass
 * rates: p <= tauLow SFT, tauLow < p < tauHigh RL, p >= tauHigh mastered (REPLAY for a
 * seeded, deterministic replayFraction of them, else DROPPED); stage NULL when the sample has
 * fewer graded attempts than minAttempts (not routed). Parameters: routingParams, from $1;
 * `o` shifts them when the caller has its own first. Columns: sample_id, stage, rate,
 * attempts, successes, reason.
 */
export function routedSql(o = 0): string {
  const $ = (i: number) => `$${i + o}`;
  const evidence = `format('p = %s (%s/%s correct)', round(pr.rate::numeric, 3), pr.successes, pr.attempts)`;
  return `SELECT s.id AS sample_id, pr.rate, pr.attempts, pr.successes, r.stage,
      CASE r.stage
        WHEN 'SFT' THEN format('%s <= tauLow %s: not solved yet, learn it by SFT (%s)', ${evidence}, ${$(3)}::float8, ${$(8)}::text)
        WHEN 'RL' THEN format('tauLow %s < %s < tauHigh %s: partly solved, improve it by RL (%s)', ${$(3)}::float8, ${evidence}, ${$(4)}::float8, ${$(8)}::text)
        WHEN 'REPLAY' THEN format('%s >= tauHigh %s: mastered; drawn for replay against forgetting (fraction %s, seed %s) (%s)', ${evidence}, ${$(4)}::float8, ${$(6)}::float8, ${$(7)}::int, ${$(8)}::text)
        WHEN 'DROPPED' THEN format('%s >= tauHigh %s: mastered, dropped (%s)', ${evidence}, ${$(4)}::float8, ${$(8)}::text)
      END AS reason
    FROM samples s
    LEFT JOIN pass_rates pr ON pr.sample_id = s.id AND pr.checkpoint_id = ${$(1)}::int
    CROSS JOIN LATERAL (SELECT CASE
        WHEN pr.attempts IS NULL OR pr.attempts < ${$(5)}::int THEN NULL
        WHEN pr.rate <= ${$(3)}::float8 THEN 'SFT'
        WHEN pr.rate < ${$(4)}::float8 THEN 'RL'
        WHEN abs(hashtextextended(s.id::text, ${$(7)}::int)) % 1000000 < ${$(6)}::float8 * 1000000 THEN 'REPLAY'
        ELSE 'DROPPED' END AS stage) r
    WHERE s.dataset_id = ANY(${$(2)}::int[])`;
}
