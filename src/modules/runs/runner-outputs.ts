import { z } from 'zod';
import type { EntityManager } from 'typeorm';
import { badInput } from '../../common/errors';
import { fromGlobalId } from '../../common/ids';
import { LIMITS } from '../../common/limits';
import { upsertPassRatesSql } from '../mastery/pass-rate.sql';
import { gradeTrace, type TraceGrade } from '../traces/trace-grading';
import { CritiqueVerdict } from '../critiques/critique.entity';
import { TraceKind } from '../traces/trace.entity';
import { Run, RunStage } from './run.entity';

/**
 * What a runner writes besides events and checkpoints: rollouts (PROBE, RL), bridged traces
 * (BRIDGE) and critiques (CRITIQUE). The API grades every text with its own grader on the way
 * in; each request is idempotent through the runner's keys.
 */
export const rolloutsBody = z.strictObject({
  rollouts: z
    .array(
      z.strictObject({
        sampleId: z.string(),
        key: z.string().min(1).max(200),
        text: z.string().max(LIMITS.traceText),
        finalAnswer: z.string().max(LIMITS.answer).nullish(),
        correct: z.boolean().nullish(),
        reward: z.number().finite().nullish(),
        graderVersion: z.string().max(LIMITS.graderVersion).nullish(),
        tokenCount: z.number().int().min(0).nullish(),
      }),
    )
    .max(LIMITS.graphqlBatch),
});

export const tracesBody = z.strictObject({
  traces: z
    .array(
      z.strictObject({
        sampleId: z.string(),
        key: z.string().min(1).max(200),
        kind: z.enum([TraceKind.BRIDGED, TraceKind.SOLUTION]),
        parentTraceId: z.string().nullish(),
        text: z.string().max(LIMITS.traceText),
        producer: z.string().min(1).max(256),
        metadata: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .max(LIMITS.graphqlBatch),
});

export const critiquesBody = z.strictObject({
  critiques: z
    .array(
      z.strictObject({
        sampleId: z.string(),
        key: z.string().min(1).max(200),
        failedTraceId: z.string(),
        diagnosis: z.string().min(1).max(LIMITS.traceText),
        verdict: z.enum(CritiqueVerdict),
        firstWrongStep: z.number().int().min(1).nullish(),
        repair: z.string().max(LIMITS.traceText).nullish(),
        solution: z.string().max(LIMITS.traceText).nullish(),
        teacher: z.string().min(1).max(256),
      }),
    )
    .max(LIMITS.graphqlBatch),
});

function idFor(type: 'Sample' | 'Trace', globalId: string, field: string): string {
  const parsed = fromGlobalId(globalId);
  if (parsed.type !== type) throw badInput(`${field}: "${globalId}" is not a ${type} id`);
  return parsed.id;
}

/** Gold answers of the samples named in a batch; an unknown sample is BAD_USER_INPUT. */
async function goldAnswers(
  manager: EntityManager,
  sampleIds: string[],
): Promise<Map<string, string | null>> {
  const rows = await manager.query<{ id: string; answer: string | null }[]>(
    'SELECT id::text AS id, answer FROM samples WHERE id = ANY($1::bigint[])',
    [[...new Set(sampleIds)]],
  );
  const answers = new Map(rows.map((r) => [r.id, r.answer]));
  const missing = sampleIds.find((id) => !answers.has(id));
  if (missing !== undefined) throw badInput(`No sample with id ${missing}`);
  return answers;
}

/** The API's grade, or the one the runner sent when the sample has no gold answer. */
function gradeOrKeep(
  text: string,
  gold: string | null,
  sent: Partial<TraceGrade> = {},
): Partial<TraceGrade> {
  return gradeTrace(text, gold) ?? sent;
}

const TRACE_COLUMNS = `sample_id bigint, external_id text, text text, final_answer text,
  correct boolean, reward double precision, grader_version text, token_count integer,
  parent_trace_id bigint, metadata jsonb, kind trace_kind, producer text`;

/** Rollouts of a PROBE or RL run; a PROBE run's rollouts also add to its checkpoint's pass rates. */
export async function storeRollouts(
  manager: EntityManager,
  run: Run,
  producer: string | null,
  rollouts: z.infer<typeof rolloutsBody>['rollouts'],
): Promise<{ inserted: number; existing: number }> {
  const sampleIds = rollouts.map((r) => idFor('Sample', r.sampleId, 'sampleId'));
  const gold = await goldAnswers(manager, sampleIds);
  const rows = rollouts.map((r, i) => {
    const g = gradeOrKeep(r.text, gold.get(sampleIds[i]) ?? null, {
      finalAnswer: r.finalAnswer ?? null,
      correct: r.correct ?? undefined,
      reward: r.reward ?? undefined,
      graderVersion: r.graderVersion ?? undefined,
    });
    return {
      sample_id: sampleIds[i],
      external_id: `run:${run.id}:${r.key}`,
      text: r.text,
      final_answer: g.finalAnswer ?? null,
      correct: g.correct ?? null,
      reward: g.reward ?? null,
      grader_version: g.graderVersion ?? null,
      token_count: r.tokenCount ?? null,
      kind: TraceKind.ROLLOUT,
      producer,
    };
  });
  const probedCheckpoint = run.stage === RunStage.PROBE ? run.inputCheckpointId : null;
  const [{ inserted }] = await manager.query<{ inserted: number }[]>(
    `WITH ins AS (${insertTracesSql('$1', '$2')} RETURNING sample_id, correct, grader_version),
     graded AS (SELECT sample_id, $3::int AS checkpoint_id, correct, grader_version FROM ins),
     pass_rates_added AS (${upsertPassRatesSql('graded')})
     SELECT count(*)::int AS inserted FROM ins`,
    [JSON.stringify(rows), run.id, probedCheckpoint],
  );
  return { inserted, existing: rows.length - inserted };
}

/** INSERT of traces from a JSON array of rows ($json) for a run ($run), idempotent. */
function insertTracesSql(json: string, runParam: string): string {
  return `INSERT INTO traces (sample_id, external_id, kind, text, final_answer, correct, reward,
                              grader_version, producer, run_id, token_count, parent_trace_id, metadata)
    SELECT x.sample_id, x.external_id, x.kind, x.text, x.final_answer, x.correct, x.reward,
           x.grader_version, x.producer, ${runParam}, x.token_count, x.parent_trace_id,
           coalesce(x.metadata, '{}')
    FROM jsonb_to_recordset(${json}::jsonb) AS x(${TRACE_COLUMNS})
    ON CONFLICT DO NOTHING`;
}

/** A parent trace must belong to the sample it is named with. */
async function checkLineage(
  manager: EntityManager,
  pairs: { sampleId: string; traceId: string; field: string }[],
): Promise<void> {
  if (pairs.length === 0) return;
  const rows = await manager.query<{ ord: string }[]>(
    `SELECT p.ord FROM unnest($1::bigint[], $2::bigint[]) WITH ORDINALITY AS p(sample_id, trace_id, ord)
     LEFT JOIN traces t ON t.id = p.trace_id AND t.sample_id = p.sample_id
     WHERE t.id IS NULL ORDER BY p.ord LIMIT 1`,
    [pairs.map((p) => p.sampleId), pairs.map((p) => p.traceId)],
  );
  if (rows.length > 0) {
    const bad = pairs[Number(rows[0].ord) - 1];
    throw badInput(`${bad.field}: trace ${bad.traceId} is not a trace of sample ${bad.sampleId}`);
  }
}

/** Traces a BRIDGE run wrote; those that grade wrong are kept, flagged and counted as rejected. */
export async function storeTraces(
  manager: EntityManager,
  run: Run,
  traces: z.infer<typeof tracesBody>['traces'],
): Promise<{ inserted: number; existing: number; verified: number; rejected: number }> {
  const sampleIds = traces.map((t) => idFor('Sample', t.sampleId, 'sampleId'));
  const parents = traces.map((t) =>
    t.parentTraceId ? idFor('Trace', t.parentTraceId, 'parentTraceId') : null,
  );
  const gold = await goldAnswers(manager, sampleIds);
  await checkLineage(
    manager,
    parents.flatMap((p, i) =>
      p === null
        ? []
        : [{ sampleId: sampleIds[i], traceId: p, field: `traces.${i}.parentTraceId` }],
    ),
  );
  const rows = traces.map((t, i) => {
    const g = gradeOrKeep(t.text, gold.get(sampleIds[i]) ?? null);
    return {
      sample_id: sampleIds[i],
      external_id: `run:${run.id}:${t.key}`,
      text: t.text,
      final_answer: g.finalAnswer ?? null,
      correct: g.correct ?? null,
      reward: g.reward ?? null,
      grader_version: g.graderVersion ?? null,
      parent_trace_id: parents[i],
      metadata: t.metadata ?? {},
      kind: t.kind,
      producer: t.producer,
    };
  });
  const [{ inserted }] = await manager.query<{ inserted: number }[]>(
    `WITH ins AS (${insertTracesSql('$1', '$2')} RETURNING 1) SELECT count(*)::int AS inserted FROM ins`,
    [JSON.stringify(rows), run.id],
  );
  const verified = rows.filter((r) => r.correct === true).length;
  return {
    inserted,
    existing: rows.length - inserted,
    verified,
    rejected: rows.filter((r) => r.correct === false).length,
  };
}

/**
 * Critiques a CRITIQUE run wrote: a REPAIR and a SOLUTION trace each (children of the failed
 * rollout), both graded; a critique is verified when both grade correct. One statement.
 */
export async function storeCritiques(
  manager: EntityManager,
  run: Run,
  critiques: z.infer<typeof critiquesBody>['critiques'],
): Promise<{ inserted: number; existing: number; verified: number }> {
  const sampleIds = critiques.map((c) => idFor('Sample', c.sampleId, 'sampleId'));
  const failed = critiques.map((c) => idFor('Trace', c.failedTraceId, 'failedTraceId'));
  const gold = await goldAnswers(manager, sampleIds);
  await checkLineage(
    manager,
    failed.map((f, i) => ({
      sampleId: sampleIds[i],
      traceId: f,
      field: `critiques.${i}.failedTraceId`,
    })),
  );
  const traceRow = (i: number, kind: TraceKind, text: string | null | undefined, key: string) => {
    if (!text) return null;
    const g = gradeOrKeep(text, gold.get(sampleIds[i]) ?? null);
    return {
      sample_id: sampleIds[i],
      external_id: `run:${run.id}:${key}`,
      text,
      final_answer: g.finalAnswer ?? null,
      correct: g.correct ?? null,
      reward: g.reward ?? null,
      grader_version: g.graderVersion ?? null,
      parent_trace_id: failed[i],
      kind,
      producer: critiques[i].teacher,
    };
  };
  const written = critiques.map((c, i) => ({
    repair: traceRow(i, TraceKind.REPAIR, c.repair, `${c.key}:repair`),
    solution: traceRow(i, TraceKind.SOLUTION, c.solution, `${c.key}:solution`),
  }));
  const traceRows = written.flatMap((w) => [w.repair, w.solution].filter((r) => r !== null));
  const critiqueRows = critiques.map((c, i) => {
    const { repair, solution } = written[i];
    return {
      sample_id: sampleIds[i],
      failed_trace_id: failed[i],
      diagnosis: c.diagnosis,
      verdict: c.verdict,
      first_wrong_step: c.firstWrongStep ?? null,
      repair_key: repair?.external_id ?? null,
      solution_key: solution?.external_id ?? null,
      verified: repair?.correct === true && solution?.correct === true,
      teacher: c.teacher,
    };
  });
  // Two statements (call inside a transaction): the critique insert must see the new traces.
  await manager.query(insertTracesSql('$1', '$2'), [JSON.stringify(traceRows), run.id]);
  const [{ inserted }] = await manager.query<{ inserted: number }[]>(
    `WITH c AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS c(sample_id bigint, failed_trace_id bigint,
             diagnosis text, verdict critique_verdict, first_wrong_step integer, repair_key text,
             solution_key text, verified boolean, teacher text)),
     ins AS (
       INSERT INTO critiques (sample_id, failed_trace_id, diagnosis, verdict, first_wrong_step,
                              repair_trace_id, solution_trace_id, verified, teacher, run_id)
       SELECT c.sample_id, c.failed_trace_id, c.diagnosis, c.verdict, c.first_wrong_step,
              r.id, s.id, c.verified, c.teacher, $2
       FROM c
       LEFT JOIN traces r ON r.sample_id = c.sample_id AND r.external_id = c.repair_key
       LEFT JOIN traces s ON s.sample_id = c.sample_id AND s.external_id = c.solution_key
       ON CONFLICT (run_id, failed_trace_id) DO NOTHING RETURNING 1)
     SELECT count(*)::int AS inserted FROM ins`,
    [JSON.stringify(critiqueRows), run.id],
  );
  return {
    inserted,
    existing: critiques.length - inserted,
    verified: critiqueRows.filter((c) => c.verified).length,
  };
}
