import { Router, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { RequestContext } from '../../common/request-context';
import type { RestDeps } from '../../common/rest-deps';
import { requireScope } from '../../common/auth/principal';
import { badInput } from '../../common/errors';
import { assertSafeText, assertSafeValue } from '../../common/text-guard';
import { toGlobalId } from '../../common/ids';
import { withTransaction } from '../../common/db/transaction';
import { ApiKeyScope } from '../api-keys/api-key.entity';
import { Sample } from '../samples/sample.entity';
import { importSampleRows } from '../samples/sample.import';
import { Trace, TraceKind } from '../traces/trace.entity';
import { importTraceRows } from '../traces/trace.import';
import { ndjsonRecords } from './ndjson-stream';
import { parseSampleLine, parseTraceLine } from './ndjson-lines';
import { streamNdjson } from '../../common/ndjson-export';
import type { DatasetService } from '../datasets/dataset.service';
import type { SampleService } from '../samples/sample.service';
import type { TraceService } from '../traces/trace.service';

export interface BulkDeps extends RestDeps {
  services: { datasets: DatasetService; samples: SampleService; traces: TraceService };
}

const list = z.string().transform((s) =>
  s
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean),
);
const bool = z.enum(['true', 'false']).transform((v) => v === 'true');

const sampleQuery = z.strictObject({
  tagsAny: list.optional(),
  tagsAll: list.optional(),
  domain: z.string().max(128).optional(),
  problemContains: z.string().min(1).max(1000).optional(),
  passRateCheckpointId: z.string().optional(),
  passRateMin: z.coerce.number().min(0).max(1).optional(),
  passRateMax: z.coerce.number().min(0).max(1).optional(),
});

const traceQuery = z.strictObject({
  kind: z.enum(TraceKind).optional(),
  correct: bool.optional(),
  runId: z.string().optional(),
  producer: z.string().max(256).optional(),
});

function parseQuery<S extends z.ZodType>(schema: S, query: unknown): z.infer<S> {
  // A NUL or lone surrogate would reach PostgreSQL inside a filter and fail there as a 500.
  assertSafeValue(query, 'query', 4);
  const parsed = schema.safeParse(query);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw badInput(`query ${issue.path.join('.') || 'string'}: ${issue.message}`);
  }
  return parsed.data;
}

/** Express 5 forwards rejected promises to the error handler; this only names the types. */
const route =
  (handler: (req: Request, res: Response) => Promise<void>) =>
  (req: Request, res: Response, next: NextFunction) =>
    handler(req, res).catch(next);

/**
 * The bulk endpoints: NDJSON in (COPY into staging, one set-based insert, one transaction) and
 * NDJSON out (a cursor, constant memory). For files too big for a GraphQL mutation.
 */
export function bulkRouter(deps: BulkDeps): Router {
  const router = Router();
  const ctxOf = (req: Request): RequestContext => deps.contextOf(req);
  const limits = {
    bodyBytes: deps.config.NDJSON_BODY_LIMIT_BYTES,
    lineBytes: deps.config.NDJSON_MAX_LINE_BYTES,
  };
  const maxDepth = deps.config.JSON_MAX_DEPTH;

  // The dataset name comes from the path: checked before it reaches a query.
  router.param('name', (_req, _res, next, name: string) => {
    try {
      assertSafeText(name, 'dataset name (path)');
      next();
    } catch (err) {
      next(err);
    }
  });

  router.post(
    '/datasets/:name/samples',
    route(async (req, res) => {
      const ctx = ctxOf(req);
      requireScope(ctx.principal, ApiKeyScope.WRITE);
      const dataset = await deps.services.datasets.byName(ctx, String(req.params.name));
      const records = ndjsonRecords(req, limits, (text, line) =>
        parseSampleLine(text, line, maxDepth),
      );
      const result = await withTransaction(ctx.ds, (qr, client) =>
        importSampleRows(qr, client, dataset.id, records),
      );
      ctx.log.info(
        { dataset: dataset.name, ...result, duplicates: undefined, repeated: undefined },
        'samples imported',
      );
      res.json(result);
    }),
  );

  router.post(
    '/datasets/:name/traces',
    route(async (req, res) => {
      const ctx = ctxOf(req);
      requireScope(ctx.principal, ApiKeyScope.WRITE);
      const dataset = await deps.services.datasets.byName(ctx, String(req.params.name));
      const records = ndjsonRecords(req, limits, (text, line) =>
        parseTraceLine(text, line, maxDepth),
      );
      const result = await withTransaction(ctx.ds, (qr, client) =>
        importTraceRows(qr, client, dataset.id, records),
      );
      ctx.log.info({ dataset: dataset.name, ...result, repeated: undefined }, 'traces imported');
      res.json(result);
    }),
  );

  router.get(
    '/datasets/:name/samples',
    route(async (req, res) => {
      const ctx = ctxOf(req);
      requireScope(ctx.principal, ApiKeyScope.READ);
      const dataset = await deps.services.datasets.byName(ctx, String(req.params.name));
      const q = parseQuery(sampleQuery, req.query);
      const query = deps.services.samples
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
      await streamNdjson(ctx.ds, res, sql, params, (row) => ({
        id: toGlobalId(Sample.name, row.s_id as string),
        externalId: row.s_external_id,
        problem: row.s_problem,
        answer: row.s_answer,
        domain: row.s_domain,
        tags: row.s_tags,
        metadata: row.s_metadata,
        contentHash: row.s_content_hash,
        createdAt: row.s_created_at,
      }));
    }),
  );

  router.get(
    '/datasets/:name/traces',
    route(async (req, res) => {
      const ctx = ctxOf(req);
      requireScope(ctx.principal, ApiKeyScope.READ);
      const dataset = await deps.services.datasets.byName(ctx, String(req.params.name));
      const q = parseQuery(traceQuery, req.query);
      const query = deps.services.traces
        .query(ctx, q)
        .innerJoin(Sample, 's', 's.id = t.sampleId')
        .andWhere('s.datasetId = :datasetId', { datasetId: dataset.id })
        .select(['t.id', 't.sampleId', 't.externalId', 't.kind', 't.text', 't.finalAnswer'])
        .addSelect(['t.correct', 't.reward', 't.graderVersion', 't.producer', 't.runId'])
        .addSelect(['t.parentTraceId', 't.tokenCount', 't.studentNll', 't.metadata', 't.createdAt'])
        .addSelect('s.externalId', 'sample_external_id')
        .orderBy('t.id', 'ASC');
      const [sql, params] = query.getQueryAndParameters();
      await streamNdjson(ctx.ds, res, sql, params, (row) => ({
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
      }));
    }),
  );

  return router;
}
