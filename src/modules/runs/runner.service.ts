import { badInput } from '../../common/errors';
import type { NdjsonQuery } from '../../common/ndjson-export';
import { fromGlobalId, toGlobalId } from '../../common/ids';
import { withTransaction, type RequestContext } from '../../common/request-context';
import { Checkpoint } from '../checkpoints/checkpoint.entity';
import type { CheckpointService } from '../checkpoints/checkpoint.service';
import type { CritiqueService } from '../critiques/critique.service';
import { Manifest } from '../manifests/manifest.entity';
import { TraceKind } from '../traces/trace.entity';
import type { TraceService } from '../traces/trace.service';
import { Run, RunStage } from './run.entity';
import { RunEventType } from './run-event.entity';
import type { RunJournal } from './run-journal';
import { recordRunnerEvents, type RunnerEventsAnswer } from './runner-status';
import type {
  RunnerCheckpoint,
  RunnerCritiques,
  RunnerEvents,
  RunnerRollouts,
  RunnerTraces,
} from './runner.protocol';

/** The runner's view of its manifest: each item's prompt and, for SFT-like stages, its trace. */
const MANIFEST_ITEMS_SQL = `
  SELECT i.ordinal, i.sample_id, s.external_id, s.problem, s.answer,
         t.id AS trace_id, t.kind AS trace_kind, t.text AS trace_text,
         t.metadata->>'hint' AS trace_hint
  FROM manifest_items i JOIN samples s ON s.id = i.sample_id
  LEFT JOIN traces t ON t.id = i.trace_id
  WHERE i.manifest_id = $1 ORDER BY i.ordinal`;

/** A row id from a global id the runner sent; another type is BAD_USER_INPUT naming the field. */
function idFor(type: 'Sample' | 'Trace', globalId: string, field: string): string {
  const parsed = fromGlobalId(globalId);
  if (parsed.type !== type) throw badInput(`${field}: "${globalId}" is not a ${type} id`);
  return parsed.id;
}

/**
 * What a runner asks of the API (gpu-runner/PROTOCOL.md): its spec and manifest, its events
 * (status moves, progress, metrics; each batch a heartbeat), the checkpoints it wrote and its
 * outputs (rollouts, bridged traces, critiques). Outputs are stored by the modules that own
 * their tables; everything that changes the run goes through its journal. Each method takes the
 * runner request's context (its principal is the run's RUNNER key) and writes in its transaction.
 */
export class RunnerService {
  constructor(
    private readonly journal: RunJournal,
    private readonly checkpoints: CheckpointService,
    private readonly traces: TraceService,
    private readonly critiques: CritiqueService,
  ) {}

  run(ctx: RequestContext, runId: number): Promise<Run> {
    return ctx.ds.getRepository(Run).findOneByOrFail({ id: runId });
  }

  /** GET /spec: the run, its input checkpoint and its manifest's summary. */
  async spec(ctx: RequestContext, run: Run) {
    const checkpoint = run.inputCheckpointId
      ? await ctx.ds.getRepository(Checkpoint).findOneBy({ id: run.inputCheckpointId })
      : null;
    const manifest = run.manifestId
      ? await ctx.ds.getRepository(Manifest).findOneBy({ id: run.manifestId })
      : null;
    return {
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
    };
  }

  /** GET /manifest: the items in order, for streaming. */
  manifestItems(run: Run): NdjsonQuery {
    if (!run.manifestId) throw badInput('This run has no manifest');
    return {
      sql: MANIFEST_ITEMS_SQL,
      params: [run.manifestId],
      toRecord: (row) => ({
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
    };
  }

  /**
   * POST /events: stored in order under the run's lock; STATUS reports move the run along its
   * one transition table; the last PROGRESS and the merged METRICs go on the run.
   */
  events(
    ctx: RequestContext,
    run: Run,
    events: RunnerEvents,
  ): Promise<RunnerEventsAnswer & { runStatus: string; cancelRequested: boolean }> {
    return this.journal.locked(ctx, run.id, async (r) => {
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
  }

  /**
   * POST /checkpoints: registered by CheckpointService in the journal's transaction, so the
   * checkpoint, the run's output and its ARTIFACT event commit together.
   */
  registerCheckpoint(
    ctx: RequestContext,
    run: Run,
    body: RunnerCheckpoint,
  ): Promise<{ id: string; name: string }> {
    return this.journal.locked(ctx, run.id, async (r) => {
      const checkpoint = await this.checkpoints.register(r.manager, {
        name: body.name,
        uri: body.uri,
        onnxUri: body.onnxUri ?? null,
        baseModel: body.baseModel,
        metadata: body.metadata ?? {},
        parentId: run.inputCheckpointId,
        producedByRunId: run.id,
      });
      const id = toGlobalId('Checkpoint', checkpoint.id);
      r.set({ outputCheckpointId: checkpoint.id });
      await r.record([
        {
          type: RunEventType.ARTIFACT,
          payload: { kind: 'checkpoint', checkpointId: id, name: body.name, uri: body.uri },
        },
      ]);
      return { id, name: checkpoint.name };
    });
  }

  /**
   * POST /rollouts (PROBE, RL): graded by the API unless the sample has no gold answer (then
   * the runner's grade is kept); a PROBE run's rollouts add to its checkpoint's pass rates.
   */
  async storeRollouts(
    ctx: RequestContext,
    run: Run,
    rollouts: RunnerRollouts,
  ): Promise<{ inserted: number; existing: number }> {
    const producer = run.inputCheckpointId
      ? ((await ctx.ds.getRepository(Checkpoint).findOneBy({ id: run.inputCheckpointId }))?.name ??
        null)
      : `run-${run.id}`;
    const rows = rollouts.map((r) => ({
      sampleId: idFor('Sample', r.sampleId, 'sampleId'),
      externalId: `run:${run.id}:${r.key}`,
      kind: TraceKind.ROLLOUT,
      text: r.text,
      producer,
      tokenCount: r.tokenCount ?? null,
      sentGrade: {
        finalAnswer: r.finalAnswer ?? null,
        correct: r.correct ?? undefined,
        reward: r.reward ?? undefined,
        graderVersion: r.graderVersion ?? undefined,
      },
    }));
    const { inserted, existing } = await withTransaction(ctx, (tx) =>
      this.traces.write(tx.manager, rows, {
        runId: run.id,
        attemptsOf: run.stage === RunStage.PROBE ? run.inputCheckpointId : null,
      }),
    );
    return { inserted, existing };
  }

  /** POST /traces (BRIDGE): those that grade wrong are kept, flagged and counted as rejected. */
  async storeTraces(
    ctx: RequestContext,
    run: Run,
    traces: RunnerTraces,
  ): Promise<{ inserted: number; existing: number; verified: number; rejected: number }> {
    const rows = traces.map((t) => ({
      sampleId: idFor('Sample', t.sampleId, 'sampleId'),
      externalId: `run:${run.id}:${t.key}`,
      kind: t.kind,
      text: t.text,
      producer: t.producer,
      parentTraceId: t.parentTraceId ? idFor('Trace', t.parentTraceId, 'parentTraceId') : null,
      metadata: t.metadata ?? {},
    }));
    const {
      inserted,
      existing,
      traces: graded,
    } = await withTransaction(ctx, async ({ manager: m }) => {
      await this.traces.assertLineage(
        m,
        rows.flatMap((t, i) =>
          t.parentTraceId === null
            ? []
            : [
                {
                  sampleId: t.sampleId,
                  traceId: t.parentTraceId,
                  field: `traces.${i}.parentTraceId`,
                },
              ],
        ),
      );
      return this.traces.write(m, rows, { runId: run.id });
    });
    return {
      inserted,
      existing,
      verified: graded.filter((t) => t.correct === true).length,
      rejected: graded.filter((t) => t.correct === false).length,
    };
  }

  /** POST /critiques (CRITIQUE): stored by CritiqueService with their graded traces. */
  storeCritiques(
    ctx: RequestContext,
    run: Run,
    critiques: RunnerCritiques,
  ): Promise<{ inserted: number; existing: number; verified: number }> {
    const items = critiques.map((c) => ({
      sampleId: idFor('Sample', c.sampleId, 'sampleId'),
      key: c.key,
      failedTraceId: idFor('Trace', c.failedTraceId, 'failedTraceId'),
      diagnosis: c.diagnosis,
      verdict: c.verdict,
      firstWrongStep: c.firstWrongStep ?? null,
      repair: c.repair ?? null,
      solution: c.solution ?? null,
      teacher: c.teacher,
    }));
    return withTransaction(ctx, (tx) => this.critiques.store(tx.manager, run.id, items));
  }
}
