import type { PoolClient } from 'pg';
import type { QueryRunner } from 'typeorm';
import { Field, Int, ObjectType } from 'type-graphql';
import {
  ANALYZE_AFTER_ROWS,
  copyLines,
  copyTextArray,
  copyValue,
  mapRows,
} from '../../common/db/copy';
import { contentHash } from './content-hash';
import { findRepeatedLines, MAX_REPORTED_REPEATS, RepeatedLine } from '../../common/import-repeats';

/** A sample as it enters staging: validated, with its content hash. */
export interface StagedSample {
  line: number;
  externalId: string;
  problem: string;
  answer: string;
  domain: string | null;
  tags: string[];
  metadata: Record<string, unknown>;
}

/** A sample as a client sends it (GraphQL input or NDJSON line). */
export type SampleRecord = Pick<StagedSample, 'externalId' | 'problem' | 'answer'> & {
  domain?: string | null;
  tags?: string[];
  metadata?: Record<string, unknown>;
};

/** Fills the absent optional fields, so both import paths stage the same row. */
export function toStagedSample(line: number, s: SampleRecord): StagedSample {
  return {
    line,
    externalId: s.externalId,
    problem: s.problem,
    answer: s.answer,
    domain: s.domain ?? null,
    tags: s.tags ?? [],
    metadata: s.metadata ?? {},
  };
}

@ObjectType({
  description: 'A sample that was not inserted: its problem is already in the dataset.',
})
export class DuplicateSample {
  @Field(() => Int, { description: 'Position in the batch or line in the file, from 1.' })
  line!: number;

  @Field()
  externalId!: string;

  @Field({ description: 'externalId of the sample already holding that problem.' })
  duplicateOfExternalId!: string;
}

@ObjectType()
export class ImportSamplesResult {
  @Field(() => Int, { description: 'New samples written.' })
  inserted!: number;

  @Field(() => Int, {
    description:
      'Items whose externalId was already in the dataset before this import: unchanged. Repeats within the import are in repeatedCount instead.',
  })
  existing!: number;

  @Field(() => Int)
  duplicateCount!: number;

  @Field(() => [DuplicateSample], { description: 'The first 1,000 duplicates.' })
  duplicates!: DuplicateSample[];

  @Field(() => Int, {
    description: 'Items whose externalId an earlier item of the same import has: not written.',
  })
  repeatedCount!: number;

  @Field(() => [RepeatedLine], {
    description: `The first ${MAX_REPORTED_REPEATS.toLocaleString('en')} repeated items, in order.`,
  })
  repeated!: RepeatedLine[];
}

const MAX_REPORTED_DUPLICATES = 1_000;

export const SAMPLE_STAGING_SQL = `CREATE TEMP TABLE stage_samples (
  line integer NOT NULL, external_id text NOT NULL, problem text NOT NULL, answer text NOT NULL,
  domain text, tags text[] NOT NULL, content_hash char(64) NOT NULL, metadata jsonb NOT NULL
) ON COMMIT DROP`;

export function sampleCopyLine(s: StagedSample): string {
  return (
    [
      String(s.line),
      copyValue(s.externalId),
      copyValue(s.problem),
      copyValue(s.answer),
      copyValue(s.domain),
      copyTextArray(s.tags),
      contentHash(s.problem),
      copyValue(JSON.stringify(s.metadata)),
    ].join('\t') + '\n'
  );
}

/**
 * Loads samples through a staging table with one set-based insert. Inside the caller's
 * transaction: an error in `rows` (a malformed line) leaves nothing written.
 */
export async function importSampleRows(
  qr: QueryRunner,
  client: PoolClient,
  datasetId: number,
  rows: AsyncIterable<StagedSample> | Iterable<StagedSample>,
): Promise<ImportSamplesResult> {
  await qr.query(SAMPLE_STAGING_SQL);
  await copyLines(client, 'COPY stage_samples FROM STDIN', mapRows(rows, sampleCopyLine));
  const [{ inserted }] = (await qr.query(
    `WITH ins AS (
       INSERT INTO samples (dataset_id, external_id, problem, answer, domain, tags, content_hash, metadata)
       SELECT $1, external_id, problem, answer, domain, tags, content_hash, metadata
       FROM stage_samples s
       WHERE NOT EXISTS (SELECT 1 FROM stage_samples r WHERE r.external_id = s.external_id AND r.line < s.line)
       ORDER BY line
       ON CONFLICT DO NOTHING RETURNING 1)
     SELECT count(*)::int AS inserted FROM ins`,
    [datasetId],
  )) as { inserted: number }[];
  // A big import changes the table more than its statistics know until autovacuum comes by; a
  // traces import right after would be planned as if the dataset had one sample (a scan of the
  // staging table per sample). ANALYZE reads a bounded sample of the table, whatever its size.
  if (inserted >= ANALYZE_AFTER_ROWS) await qr.query('ANALYZE samples');
  // After the insert, a staged externalId missing from the dataset lost on content: a duplicate.
  const duplicates = (await qr.query(
    `SELECT s.line, s.external_id AS "externalId", d.external_id AS "duplicateOfExternalId",
            count(*) OVER ()::int AS total
     FROM stage_samples s
     JOIN samples d ON d.dataset_id = $1 AND d.content_hash = s.content_hash
     WHERE NOT EXISTS (SELECT 1 FROM samples e WHERE e.dataset_id = $1 AND e.external_id = s.external_id)
       AND NOT EXISTS (SELECT 1 FROM stage_samples r WHERE r.external_id = s.external_id AND r.line < s.line)
     ORDER BY s.line LIMIT ${MAX_REPORTED_DUPLICATES}`,
    [datasetId],
  )) as (DuplicateSample & { total: number })[];
  const [{ staged }] = (await qr.query('SELECT count(*)::int AS staged FROM stage_samples')) as {
    staged: number;
  }[];
  const duplicateCount = duplicates[0]?.total ?? 0;
  const { repeatedCount, repeated } = await findRepeatedLines(qr, 'stage_samples', ['external_id']);
  return {
    inserted,
    existing: staged - inserted - duplicateCount - repeatedCount,
    repeatedCount,
    repeated,
    duplicateCount,
    duplicates: duplicates.map(({ line, externalId, duplicateOfExternalId }) => ({
      line,
      externalId,
      duplicateOfExternalId,
    })),
  };
}
