import type { QueryRunner } from 'typeorm';
import { Field, Int, ObjectType } from 'type-graphql';

/**
 * Lines of one import that repeat the key of an earlier line of the same file. They were never
 * in the dataset, so they are neither `existing` nor content duplicates: the earlier line is the
 * one that counts, and each repeat is reported with the line it repeats.
 */
@ObjectType({ description: 'A line whose externalId an earlier line of the same import has.' })
export class RepeatedLine {
  @Field(() => Int, { description: 'Position in the batch or line in the file, from 1.' })
  line!: number;

  @Field()
  externalId!: string;

  @Field(() => Int, { description: 'The earlier line with the same externalId (it counts).' })
  duplicateOfLine!: number;
}

/** At most this many repeats are listed; `repeatedCount` counts them all. */
export const MAX_REPORTED_REPEATS = 1_000;

/**
 * The repeats in a staging table with `line` and `external_id` columns, where lines with the
 * same `keyColumns` are one record. Returns the total and the first MAX_REPORTED_REPEATS.
 */
export async function findRepeatedLines(
  qr: QueryRunner,
  stagingTable: string,
  keyColumns: string[],
): Promise<{ repeatedCount: number; repeated: RepeatedLine[] }> {
  const rows = (await qr.query(
    `SELECT line, external_id AS "externalId", first_line AS "duplicateOfLine",
            count(*) OVER ()::int AS total
     FROM (SELECT line, external_id,
                  min(line) OVER (PARTITION BY ${keyColumns.join(', ')}) AS first_line
           FROM ${stagingTable}) r
     WHERE line > first_line ORDER BY line LIMIT ${MAX_REPORTED_REPEATS}`,
  )) as (RepeatedLine & { total: number })[];
  return {
    repeatedCount: rows[0]?.total ?? 0,
    repeated: rows.map(({ line, externalId, duplicateOfLine }) => ({
      line,
      externalId,
      duplicateOfLine,
    })),
  };
}
