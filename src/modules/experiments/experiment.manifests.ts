/**
 * Item selections of an experiment's runs, as SQL yielding (sample_id, trace_id, sort_key) for
 * ManifestService.freezeFromSql. $1 is the dataset ids (integer[]).
 */

/** Prompts of every sample of the datasets (RL on everything; EVAL). */
export const PROMPTS_SQL = `
  SELECT s.id AS sample_id, NULL::bigint AS trace_id, s.id AS sort_key
  FROM samples s WHERE s.dataset_id = ANY($1::int[])`;

/**
 * Each sample with its latest verified bridged trace, else its most explicit verified teacher
 * trace: the longest (the built-in task's step-by-step "explicit" trace over its terse "raw" one).
 */
export const BRIDGED_OR_TEACHER_SQL = `
  SELECT s.id AS sample_id, t.id AS trace_id, s.id AS sort_key
  FROM samples s
  JOIN LATERAL (
    SELECT t.id FROM traces t
    WHERE t.sample_id = s.id AND t.correct AND t.kind IN ('BRIDGED', 'TEACHER')
    ORDER BY (t.kind = 'BRIDGED') DESC, CASE WHEN t.kind = 'BRIDGED' THEN -t.id END,
             length(t.text) DESC, t.id
    LIMIT 1) t ON true
  WHERE s.dataset_id = ANY($1::int[])`;

/** Each sample with its tersest verified teacher trace, as the teacher wrote it (plain distillation). */
export const TEACHER_SQL = `
  SELECT s.id AS sample_id, t.id AS trace_id, s.id AS sort_key
  FROM samples s
  JOIN LATERAL (
    SELECT t.id FROM traces t WHERE t.sample_id = s.id AND t.correct AND t.kind = 'TEACHER'
    ORDER BY length(t.text), t.id LIMIT 1) t ON true
  WHERE s.dataset_id = ANY($1::int[])`;
