import { z } from 'zod';
import { LIMITS } from '../../common/limits';
import { TraceKind } from '../traces/trace.entity';
import { toStagedSample, type StagedSample } from '../samples/sample.service';
import { toStagedTrace, type StagedTrace } from '../traces/trace.service';
import { AppError, badInput } from '../../common/errors';
import { assertSafeValue, DEFAULT_JSON_MAX_DEPTH } from '../../common/text-guard';

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

/**
 * Every string of the line storable (no NUL, no lone surrogate) and its nesting within
 * `maxDepth`, checked before the schema: the size check below serialises the metadata, which a
 * deep enough value would overflow. The error names the line and the field.
 */
function assertSafeLine(json: unknown, line: number, maxDepth: number): void {
  if (json === null || typeof json !== 'object') return;
  try {
    assertSafeValue(json, 'line', maxDepth, { line });
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    // 'line.metadata.a' -> field 'metadata.a', message 'line 3: metadata.a: ...'.
    const at = typeof err.details.field === 'string' ? err.details.field : 'line';
    const field = at.replace(/^line\.?/, '');
    const reason = err.message.slice(at.length + 2);
    throw badInput(`line ${line}: ${field ? `${field}: ` : ''}${reason}`, {
      ...err.details,
      line,
      field,
    });
  }
}

function parseLine<S extends z.ZodType>(
  schema: S,
  text: string,
  line: number,
  maxDepth: number,
): z.infer<S> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw badInput(`line ${line}: not valid JSON`, { line });
  }
  assertSafeLine(json, line, maxDepth);
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

export function parseSampleLine(
  text: string,
  line: number,
  maxDepth = DEFAULT_JSON_MAX_DEPTH,
): StagedSample {
  return toStagedSample(line, parseLine(sampleLine, text, line, maxDepth));
}

export function parseTraceLine(
  text: string,
  line: number,
  maxDepth = DEFAULT_JSON_MAX_DEPTH,
): StagedTrace {
  return toStagedTrace(line, parseLine(traceLine, text, line, maxDepth));
}
