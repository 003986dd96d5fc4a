/**
 * The item selections of every manifest a curriculum freezes, as SQL yielding
 * (sample_id, trace_id, sort_key) for ManifestService.freezeFromSql. $1 is the curriculum id
 * and $2 the round in each.
 */

/** Prompts of every sample of the curriculum's datasets in a role (PROBE: TRAIN; EVAL: EVAL). */
export const DATASET_PROMPTS_SQL = `
  SELECT s.id AS sample_id, NULL::bigint AS trace_id, s.id AS sort_key
  FROM curriculum_datasets cd JOIN samples s ON s.dataset_id = cd.dataset_id
  WHERE cd.curriculum_id = $1 AND cd.role = $3 AND $2::int IS NOT NULL`;

/** Prompts of the round's samples in some stages (the re-probe after SFT: SFT and RL). */
export const STAGE_PROMPTS_SQL = `
  SELECT a.sample_id, NULL::bigint AS trace_id, a.sample_id AS sort_key
  FROM stage_assignments a
  WHERE a.curriculum_id = $1 AND a.round = $2 AND a.stage::text = ANY($3::text[])`;

/**
 * The SFT set of a round: each SFT and each REPLAY sample with its bridged trace (written by the
 * round's bridge step for both, in-API as external id $3 or by the BRIDGE run $4, the latest;
 * with no bridge, $5 = true, its tersest verified teacher trace, as the teacher wrote it: the
 * built-in task's raw trace, not the step-by-step one a bridge would pick), then the verified
 * repair and solution traces of the previous round's critiques. A replay item trains on the
 * trace an SFT item of its sample would (replay once took the first teacher trace, the raw one:
 * the mastered problems were trained in the other style).
 */
export const SFT_SET_SQL = `
  SELECT a.sample_id, b.id AS trace_id, CASE WHEN a.stage = 'SFT' THEN 1 ELSE 2 END AS sort_key
  FROM stage_assignments a
  JOIN LATERAL (
    SELECT t.id FROM traces t
    WHERE t.sample_id = a.sample_id AND t.correct
      AND ((t.kind = 'BRIDGED' AND (t.external_id = $3 OR t.run_id = $4))
           OR ($5 AND t.kind = 'TEACHER'))
    ORDER BY (t.kind = 'BRIDGED') DESC, CASE WHEN t.kind = 'BRIDGED' THEN -t.id END,
             length(t.text), t.id
    LIMIT 1) b ON true
  WHERE a.curriculum_id = $1 AND a.round = $2 AND a.stage IN ('SFT', 'REPLAY')
  UNION ALL
  SELECT c.sample_id, t.id, 3
  FROM runs cr JOIN critiques c ON c.run_id = cr.id AND c.verified
  JOIN traces t ON t.id IN (c.repair_trace_id, c.solution_trace_id)
  WHERE cr.curriculum_id = $1 AND cr.round = $2 - 1 AND cr.stage = 'CRITIQUE'
    AND cr.status = 'SUCCEEDED'`;

/** What a BRIDGE (rewrite) run rewrites: one verified teacher trace per SFT and REPLAY sample. */
export const REWRITE_SET_SQL = `
  SELECT a.sample_id, tr.id AS trace_id, a.sample_id AS sort_key
  FROM stage_assignments a
  JOIN LATERAL (
    SELECT t.id FROM traces t WHERE t.sample_id = a.sample_id AND t.kind = 'TEACHER' AND t.correct
    ORDER BY t.id LIMIT 1) tr ON true
  WHERE a.curriculum_id = $1 AND a.round = $2 AND a.stage IN ('SFT', 'REPLAY')`;

/**
 * CRITIQUE items: for each prompt the RL run ($3) harvested (the samples in $4), its last
 * failed rollout in that run.
 */
export const CRITIQUE_SET_SQL = `
  SELECT DISTINCT ON (t.sample_id) t.sample_id, t.id AS trace_id, t.sample_id AS sort_key
  FROM traces t
  WHERE t.run_id = $3 AND t.kind = 'ROLLOUT' AND t.correct IS FALSE
    AND t.sample_id = ANY($4::bigint[]) AND $1::int IS NOT NULL AND $2::int IS NOT NULL
  ORDER BY t.sample_id, t.id DESC`;
