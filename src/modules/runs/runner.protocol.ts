/**
 * The request bodies of the runner's endpoints (/v1/runs/:id/…), as gpu-runner/PROTOCOL.md
 * writes them: that file is the contract, this one its schemas on the API's side. Change the
 * two together (tests/runner-contract.test.ts holds the runner to the same text).
 */
import { z } from 'zod';
import { badInput } from '../../common/errors';
import { LIMITS } from '../../common/limits';
import { CritiqueVerdict } from '../critiques/critique.entity';
import { TraceKind } from '../traces/trace.entity';
import { RunEventType } from './run-event.entity';

/** POST /events: a batch of events with the runner's own seqs (also the heartbeat). */
export const eventsBody = z.strictObject({
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

/** POST /checkpoints: a checkpoint the run wrote (with its ONNX export, for scoring). */
export const checkpointBody = z.strictObject({
  name: z.string().min(1).max(256),
  uri: z.string().min(1).max(2_048),
  onnxUri: z.string().max(2_048).nullish(),
  baseModel: z.string().min(1).max(256),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

/** POST /rollouts: a PROBE or RL run's sampled answers, graded again by the API. */
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

/** POST /traces: a BRIDGE run's rewritten traces (BRIDGED) or new solutions. */
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

/** POST /critiques: a CRITIQUE run's diagnoses, each with a repair and a solution. */
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

export type RunnerEvents = z.infer<typeof eventsBody>['events'];
export type RunnerCheckpoint = z.infer<typeof checkpointBody>;
export type RunnerRollouts = z.infer<typeof rolloutsBody>['rollouts'];
export type RunnerTraces = z.infer<typeof tracesBody>['traces'];
export type RunnerCritiques = z.infer<typeof critiquesBody>['critiques'];

/** A body checked against its schema; the first issue is the BAD_USER_INPUT message. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw badInput(`${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  return parsed.data;
}
