import { createHash } from 'node:crypto';
import type { PoolClient } from 'pg';
import type { QueryRunner } from 'typeorm';
import { Field, Int, ObjectType } from 'type-graphql';
import { ANALYZE_AFTER_ROWS, copyLines, copyValue, mapRows } from '../../common/db/copy';
import { badInput } from '../../common/errors';
import type { TraceKind } from './trace.entity';
import { gradeTrace } from './trace-grading';
import type { AttemptTally } from '../mastery/mastery.types';
import { attemptTalliesSql } from './trace.writer';
import { findRepeatedLines, MAX_REPORTED_REPEATS, RepeatedLine } from '../../common/import-repeats';

/** A trace as it enters staging, validated. */
export interface StagedTrace {
  line: number;
  sampleExternalId: string;
  externalId: string | null;
  kind: TraceKind;
  text: string;
  finalAnswer: string | null;
  correct: boolean | null;
  reward: number | null;
  graderVersion: string | null;
  producer: string | null;
  tokenCount: number | null;
  metadata: Record<string, unknown>;
}

/** A trace as a client sends it (GraphQL input or NDJSON line): optional fields may be absent. */
export type TraceRecord = Pick<StagedTrace, 'sampleExternalId' | 'kind' | 'text'> & {
  [K in Exclude<keyof StagedTrace, 'line' | 'sampleExternalId' | 'kind' | 'text'>]?:
    StagedTrace[K] | undefined;
};

/** Fills the absent optional fields, so both import paths stage the same row. */
export function toStagedTrace(line: number, t: TraceRecord): StagedTrace {
  return {
    line,
    sampleExternalId: t.sampleExternalId,
    externalId: t.externalId ?? null,
    kind: t.kind,
    text: t.text,
    finalAnswer: t.finalAnswer ?? null,
    correct: t.correct ?? null,
    reward: t.reward ?? null,
    graderVersion: t.graderVersion ?? null,
    producer: t.producer ?? null,
    tokenCount: t.tokenCount ?? null,
    metadata: t.metadata ?? {},
  };
}

@ObjectType()
export class ImportTracesResult {
  @Field(() => Int, { description: 'New traces written.' })
  inserted!: number;

  @Field(() => Int, {
    description:
      'Traces already stored under the same (sample, externalId) before this import. Repeats within the import are in repeatedCount instead.',
  })
  existing!: number;

  @Field(() => Int, {
    description:
      'Items with the (sample, externalId) of an earlier item of the same import: not written.',
  })
  repeatedCount!: number;

  @Field(() => [RepeatedLine], {
    description: `The first ${MAX_REPORTED_REPEATS.toLocaleString('en')} repeated items, in order.`,
  })
  repeated!: RepeatedLine[];
}

/** The default idempotency key: the same text by the same producer is the same trace. */
export function defaultTraceExternalId(t: Pick<StagedTrace, 'kind' | 'producer' | 'text'>): string {
  return (
    'h:' +
    createHash('sha256')
      .update(`${t.kind}\u0000${t.producer ?? ''}\u0000${t.text}`)
      .digest('hex')
      .slice(0, 32)
  );
}

/** COPY text values of a trace's own columns, external_id through metadata, in that order. */
export function traceCopyValues(
  t: Omit<StagedTrace, 'line' | 'sampleExternalId' | 'metadata'> & {
    metadata?: Record<string, unknown>;
  },
): string[] {
  return [
    copyValue(t.externalId ?? defaultTraceExternalId(t)),
    t.kind,
    copyValue(t.text),
    copyValue(t.finalAnswer),
    copyValue(t.correct),
    copyValue(t.reward),
    copyValue(t.graderVersion),
    copyValue(t.producer),
    copyValue(t.tokenCount),
    copyValue(JSON.stringify(t.metadata ?? {})),
  ];
}

export function traceCopyLine(t: StagedTrace): string {
  return [String(t.line), copyValue(t.sampleExternalId), ...traceCopyValues(t)].join('\t') + '\n';
}

const TRACE_STAGING_SQL = `CREATE TEMP TABLE stage_traces (
  line integer NOT NULL, sample_external_id text NOT NULL, external_id text NOT NULL,
  kind trace_kind NOT NULL, text text NOT NULL, final_answer text, correct boolean,
  reward double precision, grader_version text, producer text, token_count integer,
  metadata jsonb NOT NULL
) ON COMMIT DROP`;

const GRADE_BATCH = 5_000;

/**
 * Grades, with the API's grader, the staged traces that came without a grade, whose sample has a
 * gold answer and that are not stored already: a re-import of stored traces grades nothing
 * (the insert skips those rows anyway). Grades go to a second staging table joined by the
 * insert, so the big table is written once.
 */
async function gradeStagedTraces(
  qr: QueryRunner,
  client: PoolClient,
  datasetId: number,
): Promise<void> {
  await qr.query(`CREATE TEMP TABLE stage_grades (
    line integer NOT NULL, final_answer text, correct boolean NOT NULL,
    reward double precision NOT NULL, grader_version text NOT NULL) ON COMMIT DROP`);
  // The cursor is read to its end: plan it for the whole result, not for a fast first row. With
  // the default (0.1) and a just-imported samples table estimated at one row, PostgreSQL chose a
  // nested loop that scanned the staging table once per sample (6 s for 30k traces, found none).
  await qr.query('SET LOCAL cursor_tuple_fraction = 1.0');
  await qr.query(
    `DECLARE stage_grading NO SCROLL CURSOR FOR
     SELECT t.line, t.text, s.answer FROM stage_traces t
     JOIN samples s ON s.dataset_id = $1 AND s.external_id = t.sample_external_id
     WHERE t.correct IS NULL AND s.answer IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM traces e WHERE e.sample_id = s.id AND e.external_id = t.external_id)`,
    [datasetId],
  );
  for (;;) {
    const rows = (await qr.query(`FETCH ${GRADE_BATCH} FROM stage_grading`)) as {
      line: number;
      text: string;
      answer: string;
    }[];
    if (rows.length === 0) break;
    const lines = rows.map((r) => {
      const g = gradeTrace(r.text, r.answer)!;
      return (
        [r.line, copyValue(g.finalAnswer), g.correct, g.reward, copyValue(g.graderVersion)].join(
          '\t',
        ) + '\n'
      );
    });
    await copyLines(client, 'COPY stage_grades FROM STDIN', lines);
  }
  await qr.query('CLOSE stage_grading');
}

/**
 * Loads traces through a staging table with one set-based insert, inside the caller's
 * transaction. A trace naming a sample the dataset does not have rejects the whole load. Traces
 * are graded on the way in (a grade the file gives is kept); the new ROLLOUT traces whose
 * producer names a checkpoint are answered as graded attempts of that checkpoint, which
 * TraceService hands to mastery in the same transaction.
 */
export async function importTraceRows(
  qr: QueryRunner,
  client: PoolClient,
  datasetId: number,
  rows: AsyncIterable<StagedTrace> | Iterable<StagedTrace>,
): Promise<ImportTracesResult & { attempts: AttemptTally[] }> {
  await qr.query(TRACE_STAGING_SQL);
  await copyLines(client, 'COPY stage_traces FROM STDIN', mapRows(rows, traceCopyLine));
  const orphans = (await qr.query(
    `SELECT t.line, t.sample_external_id AS "sampleExternalId" FROM stage_traces t
     WHERE NOT EXISTS (SELECT 1 FROM samples s WHERE s.dataset_id = $1 AND s.external_id = t.sample_external_id)
     ORDER BY t.line LIMIT 1`,
    [datasetId],
  )) as { line: number; sampleExternalId: string }[];
  if (orphans.length > 0) {
    const { line, sampleExternalId } = orphans[0];
    throw badInput(
      `line ${line}: the dataset has no sample with externalId "${sampleExternalId}"`,
      {
        line,
        sampleExternalId,
      },
    );
  }
  await gradeStagedTraces(qr, client, datasetId);
  const [{ inserted, staged, attempts }] = (await qr.query(
    `WITH ins AS (
       INSERT INTO traces (sample_id, external_id, kind, text, final_answer, correct, reward,
                           grader_version, producer, token_count, metadata)
       SELECT s.id, t.external_id, t.kind, t.text, coalesce(t.final_answer, g.final_answer),
              coalesce(t.correct, g.correct), coalesce(t.reward, g.reward),
              coalesce(t.grader_version, g.grader_version), t.producer, t.token_count, t.metadata
       FROM stage_traces t JOIN samples s ON s.dataset_id = $1 AND s.external_id = t.sample_external_id
       LEFT JOIN stage_grades g ON g.line = t.line
       ORDER BY t.line
       ON CONFLICT DO NOTHING RETURNING sample_id, kind, producer, correct, grader_version),
     graded AS (
       SELECT ins.sample_id, c.id AS checkpoint_id, ins.correct, ins.grader_version
       FROM ins JOIN checkpoints c ON c.name = ins.producer WHERE ins.kind = 'ROLLOUT')
     SELECT (SELECT count(*) FROM ins)::int AS inserted, (SELECT count(*) FROM stage_traces)::int AS staged,
            (${attemptTalliesSql('graded')}) AS attempts`,
    [datasetId],
  )) as { inserted: number; staged: number; attempts: AttemptTally[] }[];
  // As for samples: a manifest frozen right after a big import would otherwise be planned on
  // the table's old statistics (a 60,000-sample freeze took minutes instead of seconds).
  if (inserted >= ANALYZE_AFTER_ROWS) await qr.query('ANALYZE traces');
  const { repeatedCount, repeated } = await findRepeatedLines(qr, 'stage_traces', [
    'sample_external_id',
    'external_id',
  ]);
  return {
    inserted,
    existing: staged - inserted - repeatedCount,
    repeatedCount,
    repeated,
    attempts,
  };
}
