import { createHash } from 'node:crypto';
import type { PoolClient } from 'pg';
import type { QueryRunner } from 'typeorm';
import { Field, Int, ObjectType } from 'type-graphql';
import { copyLines, copyValue, mapRows } from '../../common/db/copy';
import { badInput } from '../../common/errors';
import type { TraceKind } from './trace.entity';

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

  @Field(() => Int, { description: 'Traces already stored under the same (sample, externalId).' })
  existing!: number;
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

export function traceCopyLine(t: StagedTrace): string {
  return (
    [
      String(t.line),
      copyValue(t.sampleExternalId),
      copyValue(t.externalId ?? defaultTraceExternalId(t)),
      t.kind,
      copyValue(t.text),
      copyValue(t.finalAnswer),
      copyValue(t.correct),
      copyValue(t.reward),
      copyValue(t.graderVersion),
      copyValue(t.producer),
      copyValue(t.tokenCount),
      copyValue(JSON.stringify(t.metadata)),
    ].join('\t') + '\n'
  );
}

const TRACE_STAGING_SQL = `CREATE TEMP TABLE stage_traces (
  line integer NOT NULL, sample_external_id text NOT NULL, external_id text NOT NULL,
  kind trace_kind NOT NULL, text text NOT NULL, final_answer text, correct boolean,
  reward double precision, grader_version text, producer text, token_count integer,
  metadata jsonb NOT NULL
) ON COMMIT DROP`;

/**
 * Loads traces through a staging table with one set-based insert, inside the caller's
 * transaction. A trace naming a sample the dataset does not have rejects the whole load.
 */
export async function importTraceRows(
  qr: QueryRunner,
  client: PoolClient,
  datasetId: number,
  rows: AsyncIterable<StagedTrace> | Iterable<StagedTrace>,
): Promise<ImportTracesResult> {
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
  const [{ inserted, staged }] = (await qr.query(
    `WITH ins AS (
       INSERT INTO traces (sample_id, external_id, kind, text, final_answer, correct, reward,
                           grader_version, producer, token_count, metadata)
       SELECT s.id, t.external_id, t.kind, t.text, t.final_answer, t.correct, t.reward,
              t.grader_version, t.producer, t.token_count, t.metadata
       FROM stage_traces t JOIN samples s ON s.dataset_id = $1 AND s.external_id = t.sample_external_id
       ORDER BY t.line
       ON CONFLICT DO NOTHING RETURNING 1)
     SELECT (SELECT count(*) FROM ins)::int AS inserted, (SELECT count(*) FROM stage_traces)::int AS staged`,
    [datasetId],
  )) as { inserted: number; staged: number }[];
  return { inserted, existing: staged - inserted };
}
