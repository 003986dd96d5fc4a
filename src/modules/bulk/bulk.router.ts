import { Router, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { RequestContext } from '../../common/request-context';
import type { RestDeps } from '../../common/rest-deps';
import { requireScope } from '../../common/auth/principal';
import { badInput } from '../../common/errors';
import { assertSafeText, assertSafeValue } from '../../common/text-guard';
import { ApiKeyScope } from '../api-keys/api-key.entity';
import { TraceKind } from '../traces/trace.entity';
import { ndjsonRecords } from './ndjson-stream';
import { parseSampleLine, parseTraceLine } from './ndjson-lines';
import { streamNdjson } from '../../common/ndjson-export';
import type { BulkService } from './bulk.service';

export interface BulkDeps extends RestDeps {
  services: { bulk: BulkService };
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
 * The bulk endpoints over HTTP, for files too big for a GraphQL mutation: each route checks the
 * key's scope, parses the NDJSON body or the query string, and calls BulkService.
 */
export function bulkRouter(deps: BulkDeps): Router {
  const router = Router();
  const ctxOf = (req: Request): RequestContext => deps.contextOf(req);
  const bulk = deps.services.bulk;
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
      const { dataset, result } = await bulk.importSamples(ctx, String(req.params.name), () =>
        ndjsonRecords(req, limits, (text, line) => parseSampleLine(text, line, maxDepth)),
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
      const { dataset, result } = await bulk.importTraces(ctx, String(req.params.name), () =>
        ndjsonRecords(req, limits, (text, line) => parseTraceLine(text, line, maxDepth)),
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
      const filter = parseQuery(sampleQuery, req.query);
      const { sql, params, toRecord } = await bulk.sampleExport(
        ctx,
        String(req.params.name),
        filter,
      );
      await streamNdjson(ctx.ds, res, sql, params, toRecord);
    }),
  );

  router.get(
    '/datasets/:name/traces',
    route(async (req, res) => {
      const ctx = ctxOf(req);
      requireScope(ctx.principal, ApiKeyScope.READ);
      const filter = parseQuery(traceQuery, req.query);
      const { sql, params, toRecord } = await bulk.traceExport(
        ctx,
        String(req.params.name),
        filter,
      );
      await streamNdjson(ctx.ds, res, sql, params, toRecord);
    }),
  );

  return router;
}
