import type { RequestContext } from '../../common/request-context';
import { loadNode } from '../../common/load-node';
import { Dataset } from '../datasets/dataset.entity';
import { idOf } from '../../common/ids';
import { keysetPage, type PageArgs } from '../../common/pagination';
import { withTransaction } from '../../common/db/transaction';
import { Trace } from './trace.entity';
import type { ImportTracesInput, TraceFilter } from './trace.inputs';
import { importTraceRows, toStagedTrace, type ImportTracesResult } from './trace.import';

/** Traces: every text produced about a sample, the big table. */
export class TraceService {
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

  list(ctx: RequestContext, filter: TraceFilter, page: PageArgs) {
    return keysetPage(ctx.cursors, this.query(ctx, filter), page);
  }

  async import(ctx: RequestContext, input: ImportTracesInput): Promise<ImportTracesResult> {
    const dataset = await loadNode(ctx, Dataset, input.datasetId);
    const rows = input.traces.map((t, i) => toStagedTrace(i + 1, t));
    return withTransaction(ctx.ds, (qr, client) => importTraceRows(qr, client, dataset.id, rows));
  }
}
