/**
 * `stagewise export`: a dataset's samples or traces, as NDJSON from the bulk endpoints
 * (GET /v1/datasets/NAME/samples|traces, streamed by the server from one cursor), into a file.
 * The file appears only when the export is complete (written beside it, then renamed).
 */
import fs from 'node:fs';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { type ApiClient, ApiError, UsageError } from '../api-client';
import {
  choiceOption,
  floatOption,
  listOption,
  noPositionals,
  parse,
  requireOptions,
} from './args';
import { printJson } from './output';
import { EXIT } from './shared';
import { TransferProgress } from './transfer-progress';

export const EXPORT_USAGE = `Usage:
  stagewise export --dataset NAME --kind samples|traces --out FILE [--json]
    samples filters: [--tags-any a,b] [--tags-all a,b] [--domain D] [--problem-contains TEXT]
                     [--pass-rate-checkpoint ID [--pass-rate-min P] [--pass-rate-max P]]
    traces filters:  [--trace-kind TEACHER|ROLLOUT|BRIDGED|REPAIR|SOLUTION] [--correct true|false]
                     [--run ID] [--producer NAME]

Writes NDJSON, one sample or trace a line, as GET /v1/datasets/NAME/samples or /traces serves it.`;

const TRACE_KINDS = ['TEACHER', 'ROLLOUT', 'BRIDGED', 'REPAIR', 'SOLUTION'];

const OPTIONS = {
  dataset: { type: 'string' },
  kind: { type: 'string' },
  out: { type: 'string' },
  json: { type: 'boolean', default: false },
  'tags-any': { type: 'string', multiple: true },
  'tags-all': { type: 'string', multiple: true },
  domain: { type: 'string' },
  'problem-contains': { type: 'string' },
  'pass-rate-checkpoint': { type: 'string' },
  'pass-rate-min': { type: 'string' },
  'pass-rate-max': { type: 'string' },
  'trace-kind': { type: 'string' },
  correct: { type: 'string' },
  run: { type: 'string' },
  producer: { type: 'string' },
} as const;

type Values = ReturnType<typeof parse<typeof OPTIONS>>['values'];

const SAMPLE_FILTERS = [
  'tags-any',
  'tags-all',
  'domain',
  'problem-contains',
  'pass-rate-checkpoint',
  'pass-rate-min',
  'pass-rate-max',
] as const;
const TRACE_FILTERS = ['trace-kind', 'correct', 'run', 'producer'] as const;

/** The query string of the endpoint; a filter of the other kind is a usage error. */
function queryOf(kind: 'samples' | 'traces', values: Values): URLSearchParams {
  const other = kind === 'samples' ? TRACE_FILTERS : SAMPLE_FILTERS;
  const misplaced = other.find((name) => values[name] !== undefined);
  if (misplaced)
    throw new UsageError(`--${misplaced} is not a filter of --kind ${kind}\n\n${EXPORT_USAGE}`);
  const q = new URLSearchParams();
  const set = (key: string, value: string | number | undefined) => {
    if (value !== undefined && value !== '') q.set(key, String(value));
  };
  if (kind === 'samples') {
    set('tagsAny', listOption(values['tags-any']).join(','));
    set('tagsAll', listOption(values['tags-all']).join(','));
    set('domain', values.domain);
    set('problemContains', values['problem-contains']);
    set('passRateCheckpointId', values['pass-rate-checkpoint']);
    set('passRateMin', floatOption(values['pass-rate-min'], 'pass-rate-min', 0, 1));
    set('passRateMax', floatOption(values['pass-rate-max'], 'pass-rate-max', 0, 1));
  } else {
    set('kind', choiceOption(values['trace-kind'], 'trace-kind', TRACE_KINDS));
    const correct = values.correct?.toLowerCase();
    if (correct !== undefined && correct !== 'true' && correct !== 'false') {
      throw new UsageError('--correct is true or false');
    }
    set('correct', correct);
    set('runId', values.run);
    set('producer', values.producer);
  }
  return q;
}

/** The error of a refused export, as the API wrote it ({ error: { code, message } }). */
async function refusal(res: Response, url: string): Promise<ApiError> {
  const text = await res.text();
  try {
    const { error } = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (error?.message) return new ApiError(error.message, error.code ?? 'INTERNAL', res.status);
  } catch {
    // not JSON: fall through
  }
  return new ApiError(
    `HTTP ${res.status} from ${url}: ${text.slice(0, 200)}`,
    'PROTOCOL',
    res.status,
  );
}

export async function exportCommand(api: ApiClient, argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, OPTIONS, EXPORT_USAGE);
  noPositionals(positionals, EXPORT_USAGE);
  requireOptions({ dataset: values.dataset, kind: values.kind, out: values.out }, EXPORT_USAGE);
  const kind = String(values.kind).toLowerCase();
  if (kind !== 'samples' && kind !== 'traces') throw new UsageError('--kind is samples or traces');
  const query = queryOf(kind, values);
  const url = `${api.url}/v1/datasets/${encodeURIComponent(values.dataset!)}/${kind}?${query.toString()}`;
  let res: Response;
  try {
    res = await fetch(url, {
      headers: api.apiKey ? { authorization: `Bearer ${api.apiKey}` } : {},
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new ApiError(
      `cannot reach the stagewise API at ${api.url} (${cause}); is the server running? (STAGEWISE_URL)`,
      'CONNECTION',
    );
  }
  if (!res.ok || !res.body) throw await refusal(res, url);

  const out = values.out!;
  const partial = `${out}.partial`;
  const progress = new TransferProgress(
    kind,
    undefined,
    'bytes',
    TransferProgress.modeFor(values.json),
  );
  const file = fs.createWriteStream(partial);
  let bytes = 0;
  let lines = 0;
  try {
    for await (const chunk of Readable.fromWeb(res.body)) {
      const buf = chunk as Buffer;
      bytes += buf.length;
      for (const byte of buf) if (byte === 10) lines += 1;
      if (!file.write(buf)) await once(file, 'drain');
      progress.update(bytes, lines);
    }
    file.end();
    await once(file, 'finish');
    fs.renameSync(partial, out);
  } catch (err) {
    progress.abort();
    file.destroy();
    fs.rmSync(partial, { force: true });
    throw err;
  }
  progress.finish(lines, `${(bytes / 1e6).toFixed(2)} MB to ${out}`);
  if (values.json) {
    return printJson({
      dataset: values.dataset,
      kind,
      rows: lines,
      bytes,
      out,
      seconds: progress.seconds,
    });
  }
  return EXIT.OK;
}
