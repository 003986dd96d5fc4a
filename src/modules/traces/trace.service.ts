import type { EntityManager } from 'typeorm';
import { withTransaction, type RequestContext } from '../../common/request-context';
import { loadNode } from '../../common/load-node';
import { Dataset } from '../datasets/dataset.entity';
import { idOf } from '../../common/ids';
import { keysetPage, type PageArgs } from '../../common/pagination';
import { connectionOf } from '../../common/db/transaction';
import type { MasteryService } from '../mastery/mastery.service';
import { Trace } from './trace.entity';
import type { ImportTracesInput, TraceFilter } from './trace.inputs';
import {
  importTraceRows,
  toStagedTrace,
  type ImportTracesResult,
  type StagedTrace,
} from './trace.import';
import {
  assertLineage,
  insertDerivedTraces,
  insertTraces,
  updateStudentNll,
  type DerivedTrace,
  type NewTrace,
  type TraceBatchOptions,
  type TraceBatchResult,
} from './trace.writer';

export type { DerivedTrace, NewTrace, TraceBatchOptions, TraceBatchResult };
/** The row an import stages, and the mapping to it from a client's record (bulk NDJSON uses it). */
export { toStagedTrace, type StagedTrace };

/**
 * Traces: every text produced about a sample, the big table. The one writer of `traces`: the
 * bulk import, a runner's outputs, critiques and the bridge all store theirs here, graded on
 * the way in, and the graded attempts they add reach mastery in the same transaction.
 */
export class TraceService {
  constructor(private readonly mastery: MasteryService) {}

  query(ctx: RequestContext, filter: TraceFilter) {
    const q = ctx.ds.getRepository(Trace).createQueryBuilder('t');
    if (filter.sampleId)
      q.andWhere('t.sampleId = :sampleId', { sampleId: idOf('Sample', filter.sampleId) });
    if (filter.kind) q.andWhere('t.kind = :kind', { kind: filter.kind });
    if (filter.correct != null) q.andWhere('t.correct = :correct', { correct: filter.correct });
    if (filter.runId) q.andWhere('t.runId = :runId', { runId: idOf('Run', filter.runId) });
    if (filter.producer === null) q.andWhere('t.producer IS NULL');
    else if (filter.producer !== undefined) {
      q.andWhere('t.producer = :producer', { producer: filter.producer });
    }
    return q;
  }

  /** `fields`: the trace fields the query selects (see keysetPage). */
  list(ctx: RequestContext, filter: TraceFilter, page: PageArgs, fields?: ReadonlySet<string>) {
    return keysetPage(ctx.cursors, this.query(ctx, filter), page, fields);
  }

  /** The importTraces mutation: one transaction, like the NDJSON import. */
  async import(ctx: RequestContext, input: ImportTracesInput): Promise<ImportTracesResult> {
    const dataset = await loadNode(ctx, Dataset, input.datasetId);
    const rows = input.traces.map((t, i) => toStagedTrace(i + 1, t));
    return this.importInto(ctx, dataset.id, rows);
  }

  /**
   * Imports traces into a dataset through COPY and staging, in the context's transaction (its own when none); the
   * new graded rollouts of a named checkpoint add to its pass rates in that transaction.
   */
  importInto(
    ctx: RequestContext,
    datasetId: number,
    rows: AsyncIterable<StagedTrace> | Iterable<StagedTrace>,
  ): Promise<ImportTracesResult> {
    return withTransaction(ctx, async (tx) => {
      const { qr, client } = connectionOf(tx.manager);
      const { attempts, ...result } = await importTraceRows(qr, client, datasetId, rows);
      await this.mastery.addAttempts(tx.manager, attempts);
      return result;
    });
  }

  /** Stores a batch (graded by the API's grader), in the caller's transaction. */
  async write(
    manager: EntityManager,
    traces: NewTrace[],
    options: TraceBatchOptions = {},
  ): Promise<TraceBatchResult> {
    const { attempts, ...result } = await insertTraces(manager, traces, options);
    await this.mastery.addAttempts(manager, attempts);
    return result;
  }

  /** Stores BRIDGED traces derived from verified parents; answers how many are new. */
  writeDerived(manager: EntityManager, traces: DerivedTrace[]): Promise<number> {
    return insertDerivedTraces(manager, traces);
  }

  /** Stores the student's mean token NLL on the traces it scored. */
  recordStudentNll(
    manager: EntityManager,
    scores: { traceId: string; nll: number }[],
  ): Promise<void> {
    return updateStudentNll(manager, scores);
  }

  /** Refuses parent traces that are not traces of the sample named with them (BAD_USER_INPUT). */
  assertLineage(
    manager: EntityManager,
    pairs: { sampleId: string; traceId: string; field: string }[],
  ): Promise<void> {
    return assertLineage(manager, pairs);
  }
}
