import { Router, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { RequestContext } from '../../common/request-context';
import type { RestDeps } from '../../common/rest-deps';
import { enterRequestScope } from '../../common/db/request-scope';
import { jsonBody } from '../../common/body-charset';
import { assertSafeValue } from '../../common/text-guard';
import type { RunJournal } from './run-journal';
import { badInput, conflict, forbidden } from '../../common/errors';
import { idOf, toGlobalId } from '../../common/ids';
import { ApiKeyScope } from '../api-keys/api-key.entity';
import { streamNdjson } from '../../common/ndjson-export';
import { Checkpoint } from '../checkpoints/checkpoint.entity';
import { Manifest } from '../manifests/manifest.entity';
import { Run } from './run.entity';
import { RunEventType } from './run-event.entity';
import { recordRunnerEvents } from './runner-status';
import {
  critiquesBody,
  rolloutsBody,
  storeCritiques,
  storeRollouts,
  storeTraces,
  tracesBody,
} from './runner-outputs';

const eventsBody = z.strictObject({
  events: z
    .array(
      z.strictObject({
        seq: z.number().int().min(1),
        type: z.enum(RunEventType),
        payload: z.record(z.string(), z.unknown()),
        at: z.iso.datetime({ offset: true }).optional(),
      }),
    )
    .max(1_000),
});

const checkpointBody = z.strictObject({
  name: z.string().min(1).max(256),
  uri: z.string().min(1).max(2_048),
  onnxUri: z.string().max(2_048).nullish(),
  baseModel: z.string().min(1).max(256),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw badInput(`${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  return parsed.data;
}

const route =
  (handler: (req: Request, res: Response) => Promise<void>) =>
  (req: Request, res: Response, next: NextFunction) =>
    handler(req, res).catch(next);

/**
 * The runner's side of gpu-runner/PROTOCOL.md: its spec, its manifest, its events (also the
 * heartbeat), its checkpoints and rollouts. A RUNNER key reaches only its own run.
 */
export function runnerRouter(
  deps: RestDeps & { services: { journal: RunJournal } },
  hooks: { eventsStored?: (count: number) => void } = {},
): Router {
  const router = Router({ mergeParams: true });
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

  /** The run named in the path, after checking the key may act for it. */
  async function runOf(req: Request): Promise<{ ctx: RequestContext; run: Run }> {
    const ctx = deps.contextOf(req);
    const runId = Number(idOf('Run', String(req.params.runId)));
    if (!ctx.principal.scopes.has(ApiKeyScope.RUNNER) || ctx.principal.runId !== runId) {
      throw forbidden('This key may not act for this run');
    }
    const run = await ctx.ds.getRepository(Run).findOneByOrFail({ id: runId });
    return { ctx, run };
  }

  router.get(
    '/spec',
    route(async (req, res) => {
      const { ctx, run } = await runOf(req);
      const checkpoint = run.inputCheckpointId
        ? await ctx.ds.getRepository(Checkpoint).findOneBy({ id: run.inputCheckpointId })
        : null;
      const manifest = run.manifestId
        ? await ctx.ds.getRepository(Manifest).findOneBy({ id: run.manifestId })
        : null;
      res.json({
        run: {
          id: toGlobalId('Run', run.id),
          stage: run.stage,
          attempt: run.attempt,
          config: run.config,
        },
        inputCheckpoint: checkpoint && {
          id: toGlobalId('Checkpoint', checkpoint.id),
          name: checkpoint.name,
          baseModel: checkpoint.baseModel,
          uri: checkpoint.uri,
        },
        manifest: manifest && {
          id: toGlobalId('Manifest', manifest.id),
          purpose: manifest.purpose,
          itemCount: manifest.itemCount,
          sha256: manifest.sha256,
        },
      });
    }),
  );

  router.get(
    '/manifest',
    route(async (req, res) => {
      const { ctx, run } = await runOf(req);
      if (!run.manifestId) throw badInput('This run has no manifest');
      await streamNdjson(
        ctx.ds,
        res,
        `SELECT i.ordinal, i.sample_id, s.external_id, s.problem, s.answer,
                t.id AS trace_id, t.kind AS trace_kind, t.text AS trace_text,
                t.metadata->>'hint' AS trace_hint
         FROM manifest_items i JOIN samples s ON s.id = i.sample_id
         LEFT JOIN traces t ON t.id = i.trace_id
         WHERE i.manifest_id = $1 ORDER BY i.ordinal`,
        [run.manifestId],
        (row) => ({
          ordinal: row.ordinal,
          sampleId: toGlobalId('Sample', row.sample_id as string),
          externalId: row.external_id,
          problem: row.problem,
          answer: row.answer,
          trace:
            row.trace_id === null
              ? null
              : {
                  id: toGlobalId('Trace', row.trace_id as string),
                  kind: row.trace_kind,
                  text: row.trace_text,
                  hint: row.trace_hint ?? null,
                },
        }),
      );
    }),
  );

  router.post(
    '/events',
    route(async (req, res) => {
      const { run } = await runOf(req);
      const { events } = parseBody(eventsBody, req.body);
      const answer = await deps.services.journal.locked(run.id, async (r) => {
        // Stored in order; STATUS reports move the run along its one transition table.
        const { stored, duplicates, ignored } = await recordRunnerEvents(r, events);
        const changes: Partial<Run> = { heartbeatAt: new Date() };
        const metrics = { ...r.run.metrics };
        for (const e of events) {
          if (e.type === RunEventType.PROGRESS) changes.progress = e.payload;
          if (e.type === RunEventType.METRIC) Object.assign(metrics, e.payload);
        }
        if (events.some((e) => e.type === RunEventType.METRIC)) changes.metrics = metrics;
        r.set(changes);
        return {
          stored,
          duplicates,
          ignored,
          runStatus: r.run.status,
          cancelRequested: r.run.cancelRequestedAt !== null,
        };
      });
      hooks.eventsStored?.(answer.stored);
      res.json(answer);
    }),
  );

  router.post(
    '/checkpoints',
    route(async (req, res) => {
      const { ctx, run } = await runOf(req);
      const body = parseBody(checkpointBody, req.body);
      const repo = ctx.ds.getRepository(Checkpoint);
      let checkpoint = await repo.findOneBy({ name: body.name });
      if (checkpoint && checkpoint.producedByRunId !== run.id) {
        throw conflict(`A checkpoint named "${body.name}" already exists`);
      }
      checkpoint ??= await repo.save(
        repo.create({
          name: body.name,
          uri: body.uri,
          onnxUri: body.onnxUri ?? null,
          baseModel: body.baseModel,
          metadata: body.metadata ?? {},
          parentId: run.inputCheckpointId,
          producedByRunId: run.id,
        }),
      );
      const id = checkpoint.id;
      await deps.services.journal.locked(run.id, async (r) => {
        r.set({ outputCheckpointId: id });
        await r.record([
          {
            type: RunEventType.ARTIFACT,
            payload: {
              kind: 'checkpoint',
              checkpointId: toGlobalId('Checkpoint', id),
              name: body.name,
              uri: body.uri,
            },
          },
        ]);
      });
      res.json({ id: toGlobalId('Checkpoint', id), name: checkpoint.name });
    }),
  );

  router.post(
    '/rollouts',
    route(async (req, res) => {
      const { ctx, run } = await runOf(req);
      const { rollouts } = parseBody(rolloutsBody, req.body);
      const producer = run.inputCheckpointId
        ? ((await ctx.ds.getRepository(Checkpoint).findOneBy({ id: run.inputCheckpointId }))
            ?.name ?? null)
        : `run-${run.id}`;
      res.json(await ctx.ds.transaction((m) => storeRollouts(m, run, producer, rollouts)));
    }),
  );

  router.post(
    '/traces',
    route(async (req, res) => {
      const { ctx, run } = await runOf(req);
      const { traces } = parseBody(tracesBody, req.body);
      res.json(await ctx.ds.transaction((m) => storeTraces(m, run, traces)));
    }),
  );

  router.post(
    '/critiques',
    route(async (req, res) => {
      const { ctx, run } = await runOf(req);
      const { critiques } = parseBody(critiquesBody, req.body);
      res.json(await ctx.ds.transaction((m) => storeCritiques(m, run, critiques)));
    }),
  );

  return router;
}
