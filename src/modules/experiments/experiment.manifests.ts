/**
 * Item selections of an experiment's runs, as SQL yielding (sample_id, trace_id, sort_key) for
 * ManifestService.freezeFromSql. $1 is the dataset ids (integer[]).
 */

/** Prompts of every sample of the datasets (RL on everything; EVAL). */
export const PROMPTS_SQL = `
  SELECT s.id AS sample_id, NULL::bigint AS trace_id, s.id AS sort_key
  FROM samples s WHERE s.dataset_id = ANY($1::int[])`;

/** Each sample with its latest verified bridged trace, else its first verified teacher trace. */
export const BRIDGED_OR_TEACHER_SQL = `
  SELECT s.id AS sample_id, t.id AS trace_id, s.id AS sort_key
  FROM samples s
  JOIN LATERAL (
    SELECT t.id FROM traces t
    WHERE t.sample_id = s.id AND t.correct AND t.kind IN ('BRIDGED', 'TEACHER')
    ORDER BY (t.kind = 'BRIDGED') DESC, CASE WHEN t.kind = 'BRIDGED' THEN -t.id ELSE t.id END
    LIMIT 1) t ON true
  WHERE s.dataset_id = ANY($1::int[])`;

/** Each sample with its first verified raw teacher trace (plain distillation). */
export const TEACHER_SQL = `
  SELECT s.id AS sample_id, t.id AS trace_id, s.id AS sort_key
  FROM samples s
  JOIN LATERAL (
    SELECT t.id FROM traces t WHERE t.sample_id = s.id AND t.correct AND t.kind = 'TEACHER'
    ORDER BY t.id LIMIT 1) t ON true
  WHERE s.dataset_id = ANY($1::int[])`;

/** Mean prompt and teacher-trace lengths of the datasets, in characters (= built-in tokens). */
export const LENGTHS_SQL = `
  SELECT coalesce(avg(length(s.problem)), 0)::float AS prompt,
         coalesce((SELECT avg(length(t.text)) FROM traces t JOIN samples s2 ON s2.id = t.sample_id
                   WHERE s2.dataset_id = ANY($1::int[]) AND t.kind = 'TEACHER'), 0)::float AS trace
  FROM samples s WHERE s.dataset_id = ANY($1::int[])`;
