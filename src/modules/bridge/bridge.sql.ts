/**
 * Shared SQL of the in-API bridge strategies: the SFT samples of a round, batch by batch, with
 * their verified teacher traces; and the insert of BRIDGED traces derived from those parents.
 */

/** External id of the BRIDGED trace a curriculum round writes for a sample (one per round). */
export const bridgedExternalId = (curriculumId: number, round: number) =>
  `bridge:c${curriculumId}:r${round}`;

/** Up to $4 SFT samples of a round after sample id $3, each with all its verified teacher traces. */
export const SFT_TEACHER_BATCH_SQL = `
  WITH batch AS (
    SELECT a.sample_id FROM stage_assignments a
    WHERE a.curriculum_id = $1 AND a.round = $2 AND a.stage = 'SFT' AND a.sample_id > $3
      AND EXISTS (SELECT 1 FROM traces t WHERE t.sample_id = a.sample_id AND t.kind = 'TEACHER' AND t.correct)
    ORDER BY a.sample_id LIMIT $4)
  SELECT b.sample_id::text AS sample_id, s.problem, t.id::text AS trace_id, t.text
  FROM batch b JOIN samples s ON s.id = b.sample_id
  JOIN traces t ON t.sample_id = b.sample_id AND t.kind = 'TEACHER' AND t.correct
  ORDER BY b.sample_id, t.id`;

export interface TeacherCandidate {
  sample_id: string;
  problem: string;
  trace_id: string;
  text: string;
}

/** Groups a batch's rows by sample, in order. */
export function bySample(rows: TeacherCandidate[]): TeacherCandidate[][] {
  const groups: TeacherCandidate[][] = [];
  for (const row of rows) {
    const last = groups.at(-1);
    if (last && last[0].sample_id === row.sample_id) last.push(row);
    else groups.push([row]);
  }
  return groups;
}

/**
 * Inserts BRIDGED traces from a JSON array of {parent_id, external_id, producer, text,
 * student_nll, metadata}: each copies its parent's sample and grade unless it has its own
 * text (then it is graded by the caller and given as final_answer/correct). Idempotent.
 */
export const INSERT_BRIDGED_SQL = `
  WITH ins AS (
    INSERT INTO traces (sample_id, external_id, kind, text, final_answer, correct, reward,
                        grader_version, producer, token_count, parent_trace_id, student_nll, metadata)
    SELECT p.sample_id, x.external_id, 'BRIDGED', coalesce(x.text, p.text),
           coalesce(x.final_answer, p.final_answer), coalesce(x.correct, p.correct),
           coalesce(x.reward, p.reward), coalesce(x.grader_version, p.grader_version), x.producer,
           CASE WHEN x.text IS NULL THEN p.token_count END, p.id, x.student_nll, x.metadata
    FROM jsonb_to_recordset($1::jsonb) AS x(parent_id bigint, external_id text, producer text,
         text text, final_answer text, correct boolean, reward double precision,
         grader_version text, student_nll double precision, metadata jsonb)
    JOIN traces p ON p.id = x.parent_id
    ON CONFLICT DO NOTHING RETURNING 1)
  SELECT count(*)::int AS inserted FROM ins`;
