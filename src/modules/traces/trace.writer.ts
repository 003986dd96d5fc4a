import type { EntityManager } from 'typeorm';
import { badInput } from '../../common/errors';
import type { AttemptTally } from '../mastery/mastery.types';
import type { TraceKind } from './trace.entity';
import { gradeTrace, type TraceGrade } from './trace-grading';

/**
 * The writes of the traces table that come as rows from inside the API (a runner's outputs, a
 * critique's repair and solution, the bridge's copies): rows → grade → insert → the graded
 * attempts for mastery. TraceService runs these; the bulk import's COPY path is trace.import.ts.
 */

/** A trace to store, named by its sample's row id. */
export interface NewTrace {
  sampleId: string;
  /** Idempotency key within the sample: a row whose key is stored already is skipped. */
  externalId: string;
  kind: TraceKind;
  text: string;
  producer: string | null;
  parentTraceId?: string | null;
  tokenCount?: number | null;
  metadata?: Record<string, unknown>;
  /** The grade its producer sent: kept only when the sample has no gold answer to grade against. */
  sentGrade?: Partial<TraceGrade>;
}

/** Where a batch of traces comes from and what it counts towards. */
export interface TraceBatchOptions {
  /** The run that produced the batch, if any. */
  runId?: number | null;
  /** The checkpoint whose pass rates the batch's graded attempts add to (a PROBE's student). */
  attemptsOf?: number | null;
}

export interface TraceBatchResult {
  inserted: number;
  existing: number;
  /** Every row's external id and grade, in input order (new and already stored alike). */
  traces: { externalId: string; correct: boolean | null }[];
}

/**
 * SQL that tallies graded attempts per (sample, checkpoint) from a relation of graded traces
 * (columns sample_id, checkpoint_id, correct, grader_version), as a jsonb array of AttemptTally.
 * Rows with no checkpoint or no grade are not attempts.
 */
export function attemptTalliesSql(graded: string): string {
  return `SELECT coalesce(jsonb_agg(jsonb_build_object('sampleId', t.sample_id::text,
            'checkpointId', t.checkpoint_id, 'attempts', t.attempts, 'successes', t.successes,
            'graderVersion', t.grader_version)), '[]'::jsonb)
    FROM (SELECT sample_id, checkpoint_id, count(*)::int AS attempts,
                 count(*) FILTER (WHERE correct)::int AS successes,
                 max(grader_version) AS grader_version
          FROM ${graded} WHERE checkpoint_id IS NOT NULL AND correct IS NOT NULL
          GROUP BY sample_id, checkpoint_id) t`;
}

/** Gold answers of the samples named in a batch; an unknown sample is BAD_USER_INPUT. */
async function goldAnswers(
  manager: EntityManager,
  sampleIds: string[],
): Promise<Map<string, string | null>> {
  const rows = await manager.query<{ id: string; answer: string | null }[]>(
    'SELECT id::text AS id, answer FROM samples WHERE id = ANY($1::bigint[])',
    [[...new Set(sampleIds)]],
  );
  const answers = new Map(rows.map((r) => [r.id, r.answer]));
  const missing = sampleIds.find((id) => !answers.has(id));
  if (missing !== undefined) throw badInput(`No sample with id ${missing}`);
  return answers;
}

/** A parent trace must belong to the sample it is named with; `field` names it in the error. */
export async function assertLineage(
  manager: EntityManager,
  pairs: { sampleId: string; traceId: string; field: string }[],
): Promise<void> {
  if (pairs.length === 0) return;
  const rows = await manager.query<{ ord: string }[]>(
    `SELECT p.ord FROM unnest($1::bigint[], $2::bigint[]) WITH ORDINALITY AS p(sample_id, trace_id, ord)
     LEFT JOIN traces t ON t.id = p.trace_id AND t.sample_id = p.sample_id
     WHERE t.id IS NULL ORDER BY p.ord LIMIT 1`,
    [pairs.map((p) => p.sampleId), pairs.map((p) => p.traceId)],
  );
  if (rows.length > 0) {
    const bad = pairs[Number(rows[0].ord) - 1];
    throw badInput(`${bad.field}: trace ${bad.traceId} is not a trace of sample ${bad.sampleId}`);
  }
}

const INSERT_TRACES_SQL = `
  WITH ins AS (
    INSERT INTO traces (sample_id, external_id, kind, text, final_answer, correct, reward,
                        grader_version, producer, run_id, token_count, parent_trace_id, metadata)
    SELECT x.sample_id, x.external_id, x.kind, x.text, x.final_answer, x.correct, x.reward,
           x.grader_version, x.producer, $2, x.token_count, x.parent_trace_id,
           coalesce(x.metadata, '{}')
    FROM jsonb_to_recordset($1::jsonb) AS x(sample_id bigint, external_id text, text text,
         final_answer text, correct boolean, reward double precision, grader_version text,
         token_count integer, parent_trace_id bigint, metadata jsonb, kind trace_kind, producer text)
    ON CONFLICT DO NOTHING RETURNING sample_id, correct, grader_version),
  graded AS (SELECT sample_id, $3::int AS checkpoint_id, correct, grader_version FROM ins)
  SELECT (SELECT count(*) FROM ins)::int AS inserted, (${attemptTalliesSql('graded')}) AS attempts`;

/**
 * Grades a batch with the API's grader and inserts it in one statement, idempotent through the
 * external ids; answers the graded attempts new to the table, for the caller to hand to mastery.
 */
export async function insertTraces(
  manager: EntityManager,
  traces: NewTrace[],
  options: TraceBatchOptions,
): Promise<TraceBatchResult & { attempts: AttemptTally[] }> {
  if (traces.length === 0) return { inserted: 0, existing: 0, traces: [], attempts: [] };
  const gold = await goldAnswers(
    manager,
    traces.map((t) => t.sampleId),
  );
  const rows = traces.map((t) => {
    const g = gradeTrace(t.text, gold.get(t.sampleId) ?? null) ?? t.sentGrade ?? {};
    return {
      sample_id: t.sampleId,
      external_id: t.externalId,
      text: t.text,
      final_answer: g.finalAnswer ?? null,
      correct: g.correct ?? null,
      reward: g.reward ?? null,
      grader_version: g.graderVersion ?? null,
      token_count: t.tokenCount ?? null,
      parent_trace_id: t.parentTraceId ?? null,
      metadata: t.metadata ?? {},
      kind: t.kind,
      producer: t.producer,
    };
  });
  const [{ inserted, attempts }] = await manager.query<
    { inserted: number; attempts: AttemptTally[] }[]
  >(INSERT_TRACES_SQL, [JSON.stringify(rows), options.runId ?? null, options.attemptsOf ?? null]);
  return {
    inserted,
    existing: rows.length - inserted,
    traces: rows.map((r) => ({ externalId: r.external_id, correct: r.correct })),
    attempts,
  };
}

/**
 * One BRIDGED trace derived from a parent (a verified teacher trace): it copies the parent's
 * sample and grade, and its text unless it brings its own (a hint's remainder).
 */
export interface DerivedTrace {
  parent_id: string;
  external_id: string;
  producer: string;
  text?: string;
  student_nll?: number;
  metadata: Record<string, unknown>;
}

const INSERT_DERIVED_SQL = `
  WITH ins AS (
    INSERT INTO traces (sample_id, external_id, kind, text, final_answer, correct, reward,
                        grader_version, producer, token_count, parent_trace_id, student_nll, metadata)
    SELECT p.sample_id, x.external_id, 'BRIDGED', coalesce(x.text, p.text), p.final_answer,
           p.correct, p.reward, p.grader_version, x.producer,
           CASE WHEN x.text IS NULL THEN p.token_count END, p.id, x.student_nll, x.metadata
    FROM jsonb_to_recordset($1::jsonb) AS x(parent_id bigint, external_id text, producer text,
         text text, student_nll double precision, metadata jsonb)
    JOIN traces p ON p.id = x.parent_id
    ON CONFLICT DO NOTHING RETURNING 1)
  SELECT count(*)::int AS inserted FROM ins`;

/** Inserts BRIDGED traces derived from their parents in one statement; answers how many are new. */
export async function insertDerivedTraces(
  manager: EntityManager,
  traces: DerivedTrace[],
): Promise<number> {
  if (traces.length === 0) return 0;
  const [{ inserted }] = await manager.query<{ inserted: number }[]>(INSERT_DERIVED_SQL, [
    JSON.stringify(traces),
  ]);
  return inserted;
}

/** Stores the student's mean token NLL on traces it scored (the bridge's select strategy). */
export async function updateStudentNll(
  manager: EntityManager,
  scores: { traceId: string; nll: number }[],
): Promise<void> {
  if (scores.length === 0) return;
  await manager.query(
    `UPDATE traces t SET student_nll = x.nll
     FROM unnest($1::bigint[], $2::float8[]) AS x(id, nll) WHERE t.id = x.id`,
    [scores.map((s) => s.traceId), scores.map((s) => s.nll)],
  );
}
