import { z } from 'zod';
import { LIMITS } from '../../common/limits';
import { TraceKind } from '../traces/trace.entity';
import { toStagedSample, type StagedSample } from '../samples/sample.import';
import { toStagedTrace, type StagedTrace } from '../traces/trace.import';
import { badInput } from '../../common/errors';

/** What one NDJSON line may hold. Unknown keys are refused: a typo must not drop a field. */
const metadata = z
  .record(z.string(), z.unknown())
  .refine((m) => JSON.stringify(m).length <= LIMITS.metadataBytes, {
    message: `must serialise to at most ${LIMITS.metadataBytes} bytes`,
  });

const sampleLine = z.strictObject({
  externalId: z.string().min(1).max(LIMITS.externalId),
  problem: z.string().min(1).max(LIMITS.problem),
  answer: z.string().max(LIMITS.answer),
  domain: z.string().max(LIMITS.domain).nullish(),
  tags: z.array(z.string().max(LIMITS.tag)).max(LIMITS.tags).optional(),
  metadata: metadata.optional(),
});

const traceLine = z.strictObject({
  sampleExternalId: z.string().min(1).max(LIMITS.externalId),
  externalId: z.string().min(1).max(LIMITS.externalId).nullish(),
  kind: z.enum(TraceKind),
  text: z.string().max(LIMITS.traceText),
  finalAnswer: z.string().max(LIMITS.answer).nullish(),
  correct: z.boolean().nullish(),
  reward: z.number().finite().nullish(),
  graderVersion: z.string().max(LIMITS.graderVersion).nullish(),
  producer: z.string().max(LIMITS.producer).nullish(),
  tokenCount: z.number().int().min(0).max(100_000_000).nullish(),
  metadata: metadata.optional(),
});

function parseLine<S extends z.ZodType>(schema: S, text: string, line: number): z.infer<S> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw badInput(`line ${line}: not valid JSON`, { line });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
    // An unknown key's issue is on the object holding it: the field to name is the key itself.
    const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path;
    throw badInput(`line ${line}: ${where}${issue.message}`, { line, field: path.join('.') });
  }
  return parsed.data;
}

export function parseSampleLine(text: string, line: number): StagedSample {
  return toStagedSample(line, parseLine(sampleLine, text, line));
}

export function parseTraceLine(text: string, line: number): StagedTrace {
  return toStagedTrace(line, parseLine(traceLine, text, line));
}
