import type { EntityManager } from 'typeorm';
import type { RequestContext } from '../../common/request-context';
import { badInput } from '../../common/errors';
import { loadNode } from '../../common/load-node';
import { Checkpoint } from '../checkpoints/checkpoint.entity';
import { Dataset } from '../datasets/dataset.entity';
import type { AttemptTally, PassRateHistogram } from './mastery.types';
import { upsertPassRatesSql } from './pass-rate.sql';

/**
 * Mastery: a checkpoint's pass rate on each sample, and how those rates spread. The one writer
 * of pass_rates: traces add their graded attempts here, in the transaction that stores them.
 */
export class MasteryService {
  /** Adds graded attempts to their pass rates (one set-based upsert; nothing when empty). */
  async addAttempts(manager: EntityManager, tallies: AttemptTally[]): Promise<void> {
    if (tallies.length === 0) return;
    await manager.query(
      `WITH tallies AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS t(sample_id bigint,
         checkpoint_id integer, attempts integer, successes integer, grader_version text))
       ${upsertPassRatesSql('tallies')}`,
      [
        JSON.stringify(
          tallies.map((t) => ({
            sample_id: t.sampleId,
            checkpoint_id: t.checkpointId,
            attempts: t.attempts,
            successes: t.successes,
            grader_version: t.graderVersion,
          })),
        ),
      ],
    );
  }

  async histogram(
    ctx: RequestContext,
    checkpointId: string,
    datasetId: string | null | undefined,
    bins: number,
  ): Promise<PassRateHistogram> {
    if (!Number.isInteger(bins) || bins < 1 || bins > 100) {
      throw badInput(`bins must be an integer from 1 to 100 (got ${bins})`);
    }
    const checkpoint = await loadNode(ctx, Checkpoint, checkpointId);
    const dataset = datasetId ? await loadNode(ctx, Dataset, datasetId) : null;
    const rows = await ctx.ds.query<
      {
        bin: number;
        n: number;
        attempts: number;
        rate_sum: number;
        never: number;
        always: number;
      }[]
    >(
      `SELECT least(width_bucket(pr.rate, 0, 1, $3), $3) AS bin, count(*)::int AS n,
              sum(pr.attempts)::int AS attempts, sum(pr.rate)::float8 AS rate_sum,
              count(*) FILTER (WHERE pr.successes = 0)::int AS never,
              count(*) FILTER (WHERE pr.successes = pr.attempts)::int AS always
       FROM pass_rates pr JOIN samples s ON s.id = pr.sample_id
       WHERE pr.checkpoint_id = $1 AND ($2::int IS NULL OR s.dataset_id = $2)
       GROUP BY 1`,
      [checkpoint.id, dataset?.id ?? null, bins],
    );
    const sum = (f: (r: (typeof rows)[number]) => number) => rows.reduce((a, r) => a + f(r), 0);
    const probedSamples = sum((r) => r.n);
    return {
      probedSamples,
      attempts: sum((r) => r.attempts),
      meanRate: probedSamples ? sum((r) => r.rate_sum) / probedSamples : null,
      never: sum((r) => r.never),
      always: sum((r) => r.always),
      bins: Array.from({ length: bins }, (_, i) => ({
        lo: i / bins,
        hi: (i + 1) / bins,
        count: rows.find((r) => Number(r.bin) === i + 1)?.n ?? 0,
      })),
    };
  }
}
