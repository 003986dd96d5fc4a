import { Router, type NextFunction, type Request, type Response } from 'express';
import type { RestDeps } from '../../common/rest-deps';
import type { RequestContext } from '../../common/request-context';
import { enterRequestScope } from '../../common/db/request-scope';
import { jsonBody } from '../../common/body-charset';
import { assertSafeValue } from '../../common/text-guard';
import { forbidden } from '../../common/errors';
import { idOf } from '../../common/ids';
import { ApiKeyScope } from '../api-keys/api-key.entity';
import { streamNdjson } from '../../common/ndjson-export';
import type { RunnerService } from './runner.service';
import type { Run } from './run.entity';
import {
  checkpointBody,
  critiquesBody,
  eventsBody,
  parseBody,
  rolloutsBody,
  tracesBody,
} from './runner.protocol';

const route =
  (handler: (req: Request, res: Response) => Promise<void>) =>
  (req: Request, res: Response, next: NextFunction) =>
    handler(req, res).catch(next);

/**
 * The runner's side of gpu-runner/PROTOCOL.md over HTTP: each route parses its body
 * (runner.protocol.ts), checks the key acts for the run, and calls RunnerService.
 */
export function runnerRouter(
  deps: RestDeps & { services: { runner: RunnerService } },
  hooks: { eventsStored?: (count: number) => void } = {},
): Router {
  const router = Router({ mergeParams: true });
  const runner = deps.services.runner;
  router.use(jsonBody(deps.config.RUNNER_BODY_LIMIT));
  // Every string of a runner body (LOG lines, checkpoint names, metadata) storable and its
  // nesting bounded, before any handler reads it: PostgreSQL would refuse a NUL with a 500.
  router.use((req, _res, next) => {
    try {
      if (req.body !== undefined) assertSafeValue(req.body, 'body', deps.config.JSON_MAX_DEPTH);
      next();
    } catch (err) {
      next(err);
    }
  });
  router.use(enterRequestScope);

  /**
   * The request's context and the run named in the path, after checking the key may act for it:
   * a RUNNER key of it. The context's principal is that key; RunnerService writes through it.
   */
  async function runOf(req: Request): Promise<{ ctx: RequestContext; run: Run }> {
    const ctx = deps.contextOf(req);
    const runId = Number(idOf('Run', String(req.params.runId)));
    if (!ctx.principal.scopes.has(ApiKeyScope.RUNNER) || ctx.principal.runId !== runId) {
      throw forbidden('This key may not act for this run');
    }
    return { ctx, run: await runner.run(ctx, runId) };
  }

  router.get(
    '/spec',
    route(async (req, res) => {
      const { ctx, run } = await runOf(req);
      res.json(await runner.spec(ctx, run));
    }),
  );

  router.get(
    '/manifest',
    route(async (req, res) => {
      const { ctx, run } = await runOf(req);
      const { sql, params, toRecord } = runner.manifestItems(run);
      await streamNdjson(ctx.ds, res, sql, params, toRecord);
    }),
  );

  router.post(
    '/events',
    route(async (req, res) => {
      const { ctx, run } = await runOf(req);
      const answer = await runner.events(ctx, run, parseBody(eventsBody, req.body).events);
      hooks.eventsStored?.(answer.stored);
      res.json(answer);
    }),
  );

  router.post(
    '/checkpoints',
    route(async (req, res) => {
      const { ctx, run } = await runOf(req);
      res.json(await runner.registerCheckpoint(ctx, run, parseBody(checkpointBody, req.body)));
    }),
  );

  router.post(
    '/rollouts',
    route(async (req, res) => {
      const { ctx, run } = await runOf(req);
      res.json(await runner.storeRollouts(ctx, run, parseBody(rolloutsBody, req.body).rollouts));
    }),
  );

  router.post(
    '/traces',
    route(async (req, res) => {
      const { ctx, run } = await runOf(req);
      res.json(await runner.storeTraces(ctx, run, parseBody(tracesBody, req.body).traces));
    }),
  );

  router.post(
    '/critiques',
    route(async (req, res) => {
      const { ctx, run } = await runOf(req);
      res.json(await runner.storeCritiques(ctx, run, parseBody(critiquesBody, req.body).critiques));
    }),
  );

  return router;
}
