import type { RequestContext } from '../../common/request-context';
import { toGlobalId } from '../../common/ids';
import type { DatasetService } from '../datasets/dataset.service';
import { Sample } from '../samples/sample.entity';
import type { SampleService, StagedSample } from '../samples/sample.service';
import { Trace, type TraceKind } from '../traces/trace.entity';
import type { StagedTrace, TraceService } from '../traces/trace.service';
import type { NdjsonQuery } from '../../common/ndjson-export';

/** The sample filters of an NDJSON export (the query string, parsed). */
export interface SampleExportFilter {
  tagsAny?: string[];
  tagsAll?: string[];
  domain?: string;
  problemContains?: string;
  passRateCheckpointId?: string;
  passRateMin?: number;
  passRateMax?: number;
}

/** The trace filters of an NDJSON export. */
export interface TraceExportFilter {
  kind?: TraceKind;
  correct?: boolean;
  runId?: string;
  producer?: string;
}

type Rows<T> = AsyncIterable<T> | Iterable<T>;

/**
 * Datasets in and out as NDJSON, by dataset name: imports go to the modules that own samples
 * and traces (COPY into staging, one set-based insert, one transaction each); exports are
 * queries streamed through a cursor, in constant memory.
 */
export class BulkService {
  constructor(
    private readonly datasets: DatasetService,
    private readonly samples: SampleService,
    private readonly traces: TraceService,
  ) {}

  /** `read` opens the body once the dataset is known (an unknown one is NOT_FOUND first). */
  async importSamples(ctx: RequestContext, datasetName: string, read: () => Rows<StagedSample>) {
    const dataset = await this.datasets.byName(ctx, datasetName);
    return { dataset, result: await this.samples.importInto(ctx, dataset.id, read()) };
  }

  async importTraces(ctx: RequestContext, datasetName: string, read: () => Rows<StagedTrace>) {
    const dataset = await this.datasets.byName(ctx, datasetName);
    return { dataset, result: await this.traces.importInto(ctx, dataset.id, read()) };
  }

  async sampleExport(
    ctx: RequestContext,
    datasetName: string,
    q: SampleExportFilter,
  ): Promise<NdjsonQuery> {
    const dataset = await this.datasets.byName(ctx, datasetName);
    const query = this.samples
      .query(ctx, {
        datasetIds: [toGlobalId('Dataset', dataset.id)],
        tagsAny: q.tagsAny,
        tagsAll: q.tagsAll,
        domain: q.domain,
        problemContains: q.problemContains,
        passRate: q.passRateCheckpointId
          ? { checkpointId: q.passRateCheckpointId, min: q.passRateMin, max: q.passRateMax }
          : undefined,
      })
      .select(['s.id', 's.externalId', 's.problem', 's.answer', 's.domain', 's.tags'])
      .addSelect(['s.contentHash', 's.metadata', 's.createdAt'])
      .orderBy('s.id', 'ASC');
    const [sql, params] = query.getQueryAndParameters();
    return {
      sql,
      params,
      toRecord: (row) => ({
        id: toGlobalId(Sample.name, row.s_id as string),
        externalId: row.s_external_id,
        problem: row.s_problem,
        answer: row.s_answer,
        domain: row.s_domain,
        tags: row.s_tags,
        metadata: row.s_metadata,
        contentHash: row.s_content_hash,
        createdAt: row.s_created_at,
      }),
    };
  }

  async traceExport(
    ctx: RequestContext,
    datasetName: string,
    q: TraceExportFilter,
  ): Promise<NdjsonQuery> {
    const dataset = await this.datasets.byName(ctx, datasetName);
    const query = this.traces
      .query(ctx, q)
      .innerJoin(Sample, 's', 's.id = t.sampleId')
      .andWhere('s.datasetId = :datasetId', { datasetId: dataset.id })
      .select(['t.id', 't.sampleId', 't.externalId', 't.kind', 't.text', 't.finalAnswer'])
      .addSelect(['t.correct', 't.reward', 't.graderVersion', 't.producer', 't.runId'])
      .addSelect(['t.parentTraceId', 't.tokenCount', 't.studentNll', 't.metadata', 't.createdAt'])
      .addSelect('s.externalId', 'sample_external_id')
      .orderBy('t.id', 'ASC');
    const [sql, params] = query.getQueryAndParameters();
    return {
      sql,
      params,
      toRecord: (row) => ({
        id: toGlobalId(Trace.name, row.t_id as string),
        sampleId: toGlobalId(Sample.name, row.t_sample_id as string),
        sampleExternalId: row.sample_external_id,
        externalId: row.t_external_id,
        kind: row.t_kind,
        text: row.t_text,
        finalAnswer: row.t_final_answer,
        correct: row.t_correct,
        reward: row.t_reward,
        graderVersion: row.t_grader_version,
        producer: row.t_producer,
        runId: row.t_run_id === null ? null : toGlobalId('Run', row.t_run_id as number),
        parentTraceId:
          row.t_parent_trace_id === null
            ? null
            : toGlobalId(Trace.name, row.t_parent_trace_id as string),
        tokenCount: row.t_token_count,
        studentNll: row.t_student_nll,
        metadata: row.t_metadata,
        createdAt: row.t_created_at,
      }),
    };
  }
}
