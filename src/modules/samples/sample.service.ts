import { withTransaction, type RequestContext } from '../../common/request-context';
import { loadNode } from '../../common/load-node';
import { Dataset } from '../datasets/dataset.entity';
import { badInput } from '../../common/errors';
import { idOf } from '../../common/ids';
import { keysetPage, type PageArgs } from '../../common/pagination';
import { likePattern } from '../../common/sql';
import { connectionOf } from '../../common/db/transaction';
import { Sample } from './sample.entity';
import type { ImportSamplesInput, SampleFilter } from './sample.inputs';
import {
  importSampleRows,
  toStagedSample,
  type ImportSamplesResult,
  type StagedSample,
} from './sample.import';

/** The row an import stages, and the mapping to it from a client's record (bulk NDJSON uses it). */
export { toStagedSample, type StagedSample };

/** Samples: problems with gold answers, filtered by dataset, tags, text, mastery and stage. */
export class SampleService {
  query(ctx: RequestContext, filter: SampleFilter) {
    const q = ctx.ds.getRepository(Sample).createQueryBuilder('s');
    if (filter.datasetIds) {
      q.andWhere('s.datasetId = ANY(:datasetIds)', {
        datasetIds: filter.datasetIds.map((id) => idOf('Dataset', id)),
      });
    }
    if (filter.tagsAny?.length)
      q.andWhere('s.tags && :tagsAny::text[]', { tagsAny: filter.tagsAny });
    if (filter.tagsAll?.length)
      q.andWhere('s.tags @> :tagsAll::text[]', { tagsAll: filter.tagsAll });
    // An explicit null asks for the samples without a domain.
    if (filter.domain === null) q.andWhere('s.domain IS NULL');
    else if (filter.domain !== undefined)
      q.andWhere('s.domain = :domain', { domain: filter.domain });
    if (filter.problemContains) {
      q.andWhere('s.problem ILIKE :problem', { problem: likePattern(filter.problemContains) });
    }
    if (filter.passRate) {
      const { checkpointId, min, max } = filter.passRate;
      if (min !== undefined && max !== undefined && min > max) {
        throw badInput(`passRate.min (${min}) is above passRate.max (${max})`);
      }
      q.innerJoin('pass_rates', 'pr', 'pr.sample_id = s.id AND pr.checkpoint_id = :prCheckpoint', {
        prCheckpoint: idOf('Checkpoint', checkpointId),
      });
      if (min !== undefined) q.andWhere('pr.rate >= :prMin', { prMin: min });
      if (max !== undefined) q.andWhere('pr.rate <= :prMax', { prMax: max });
    }
    if (filter.stage) {
      q.andWhere(
        `EXISTS (SELECT 1 FROM stage_assignments sa WHERE sa.sample_id = s.id
           AND sa.curriculum_id = :saCurriculum AND sa.round = :saRound AND sa.stage = :saStage)`,
        {
          saCurriculum: idOf('Curriculum', filter.stage.curriculumId),
          saRound: filter.stage.round,
          saStage: filter.stage.stage,
        },
      );
    }
    return q;
  }

  /** `fields`: the sample fields the query selects (see keysetPage). */
  list(ctx: RequestContext, filter: SampleFilter, page: PageArgs, fields?: ReadonlySet<string>) {
    return keysetPage(ctx.cursors, this.query(ctx, filter), page, fields);
  }

  async import(ctx: RequestContext, input: ImportSamplesInput): Promise<ImportSamplesResult> {
    const dataset = await loadNode(ctx, Dataset, input.datasetId);
    const rows = input.samples.map((s, i) => toStagedSample(i + 1, s));
    return this.importInto(ctx, dataset.id, rows);
  }

  /**
   * Imports samples into a dataset through COPY and staging, in the context's transaction (its
   * own when none).
   */
  importInto(
    ctx: RequestContext,
    datasetId: number,
    rows: AsyncIterable<StagedSample> | Iterable<StagedSample>,
  ): Promise<ImportSamplesResult> {
    return withTransaction(ctx, (tx) => {
      const { qr, client } = connectionOf(tx.manager);
      return importSampleRows(qr, client, datasetId, rows);
    });
  }
}
