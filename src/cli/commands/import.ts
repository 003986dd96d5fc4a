/**
 * `stagewise import`: a GSM8K, MATH / MATH-500, or column-mapped JSONL / Parquet file into a
 * dataset. The file is converted and checked locally first (a bad row stops everything, with its
 * row number); then samples, then TEACHER traces, go through the NDJSON bulk endpoints, each
 * one transaction. Re-importing a file imports nothing new.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type ApiClient, ApiError, UsageError } from '../api-client';
import { IMPORT_FORMATS, MAPPING_FIELDS, type ImportFormat } from '../importers/formats';
import type { ColumnMapping } from '../importers/mapping';
import { listOption, noPositionals, parse, requireOptions } from './args';
import { datasetIdByName } from './datasets';
import { printJson } from './output';
import { EXIT } from './shared';
import { TransferProgress } from './transfer-progress';

export const IMPORT_USAGE = `Usage:
  stagewise import --dataset NAME [--create [--split train|eval]]
                   --format gsm8k|math|jsonl|parquet [--map FIELD=COLUMN,...] [--json] FILE

Formats: gsm8k (question, answer ending in "#### N"), math (MATH / MATH-500: problem, solution
with a \\boxed{} answer or an answer column, level, type or subject), jsonl and parquet (any
columns, named by --map; fields: ${MAPPING_FIELDS}; e.g. --map problem=question,answer=final,
externalId=id,tags=level,trace=solution). gsm8k and math read Parquet files too. Worked solutions
become TEACHER traces, graded by the API. --create makes the dataset when it does not exist.`;

interface SamplesResult {
  inserted: number;
  existing: number;
  duplicateCount: number;
  duplicates: { externalId: string }[];
}
interface TracesResult {
  inserted: number;
  existing: number;
}

async function mappingOption(
  format: ImportFormat,
  values: string[] | undefined,
): Promise<ColumnMapping | undefined> {
  const pairs = listOption(values);
  if (format === 'gsm8k' || format === 'math') {
    if (pairs.length)
      throw new UsageError(`--map is for --format jsonl or parquet\n\n${IMPORT_USAGE}`);
    return undefined;
  }
  if (!pairs.length) {
    throw new UsageError(`--format ${format} needs --map, e.g. problem=question,answer=final`);
  }
  // Loaded here, not at start-up: see importers/formats.ts.
  const { parseMapping } = await import('../importers/mapping.js');
  try {
    return parseMapping(pairs);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** The dataset's id; with `create`, a missing dataset is made first. */
async function targetDataset(
  api: ApiClient,
  name: string,
  create: boolean,
  split: string,
): Promise<{ id: string; created: boolean }> {
  try {
    return { id: await datasetIdByName(api, name), created: false };
  } catch (err) {
    if (!(err instanceof ApiError && err.code === 'NOT_FOUND')) throw err;
    if (!create)
      throw new ApiError(`no dataset named "${name}" (add --create to make it)`, 'NOT_FOUND');
  }
  const { createDataset } = await api.graphql<{ createDataset: { id: string } }>(
    `mutation($input: CreateDatasetInput!) { createDataset(input: $input) { id } }`,
    { input: { name, split } },
  );
  return { id: createDataset.id, created: true };
}

/** POSTs one NDJSON file to a bulk endpoint with a progress bar over its bytes. */
async function send<T>(
  api: ApiClient,
  dataset: string,
  what: 'samples' | 'traces',
  file: string,
  rows: number,
  mode: ReturnType<typeof TransferProgress.modeFor>,
): Promise<{ result: T; progress: TransferProgress }> {
  const bytes = fs.statSync(file).size;
  const progress = new TransferProgress(what, bytes, 'bytes', mode);
  try {
    const result = await api.postNdjsonFile<T>(
      `/v1/datasets/${encodeURIComponent(dataset)}/${what}`,
      file,
      (sent) => progress.update(sent, Math.round((rows * sent) / Math.max(bytes, 1))),
    );
    return { result, progress };
  } catch (err) {
    progress.abort();
    throw err;
  }
}

/** Drops the traces of samples the API refused as duplicates (their problem was already there). */
function withoutTracesOf(file: string, externalIds: Set<string>): number {
  const kept = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(
      (line) =>
        line &&
        !externalIds.has((JSON.parse(line) as { sampleExternalId: string }).sampleExternalId),
    );
  fs.writeFileSync(file, kept.map((l) => `${l}\n`).join(''));
  return kept.length;
}

export async function importCommand(api: ApiClient, argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      dataset: { type: 'string' },
      create: { type: 'boolean', default: false },
      split: { type: 'string', default: 'train' },
      format: { type: 'string' },
      map: { type: 'string', multiple: true },
      json: { type: 'boolean', default: false },
    },
    IMPORT_USAGE,
  );
  requireOptions({ dataset: values.dataset, format: values.format }, IMPORT_USAGE);
  if (positionals.length !== 1) throw new UsageError(`import takes one FILE\n\n${IMPORT_USAGE}`);
  noPositionals(positionals.slice(1));
  const format = String(values.format).toLowerCase() as ImportFormat;
  if (!IMPORT_FORMATS.includes(format)) {
    throw new UsageError(`--format must be one of ${IMPORT_FORMATS.join(', ')}`);
  }
  const split = String(values.split).toLowerCase();
  if (split !== 'train' && split !== 'eval') throw new UsageError('--split is train or eval');
  const mapping = await mappingOption(format, values.map);
  const file = positionals[0];
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) {
    throw new UsageError(`no such file: ${file}`);
  }
  const dataset = values.dataset!;
  const mode = TransferProgress.modeFor(values.json);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stagewise-import-'));
  try {
    const samplesFile = path.join(dir, 'samples.ndjson');
    const tracesFile = path.join(dir, 'traces.ndjson');
    let reading: TransferProgress | undefined;
    let converted;
    const { convertFile } = await import('../importers/import-file.js');
    try {
      converted = await convertFile({
        format,
        file,
        mapping,
        samplesOut: samplesFile,
        tracesOut: tracesFile,
        onProgress: (p) => {
          reading ??= new TransferProgress(
            'reading',
            p.total,
            p.unit === 'bytes' ? 'bytes' : 'rows',
            mode,
          );
          reading.update(p.done, p.rows);
        },
      });
    } catch (err) {
      reading?.abort();
      throw err;
    }
    reading ??= new TransferProgress('reading', 0, 'rows', mode);
    reading.finish(converted.rows, `${converted.source} ${path.basename(file)} as ${format}`);

    const target = await targetDataset(api, dataset, values.create, split.toUpperCase());
    if (target.created && !values.json) console.log(`  created dataset ${dataset} (${split})`);
    const samples = await send<SamplesResult>(
      api,
      dataset,
      'samples',
      samplesFile,
      converted.rows,
      mode,
    );
    const dup = samples.result.duplicateCount;
    samples.progress.finish(
      converted.rows,
      `${samples.result.inserted} inserted, ${samples.result.existing} existing` +
        (dup ? `, ${dup} duplicates of problems already in the dataset` : ''),
    );
    const traceRows = dup
      ? withoutTracesOf(tracesFile, new Set(samples.result.duplicates.map((d) => d.externalId)))
      : converted.traces;
    let traces: TracesResult = { inserted: 0, existing: 0 };
    if (traceRows > 0) {
      const sent = await send<TracesResult>(api, dataset, 'traces', tracesFile, traceRows, mode);
      // The summary keeps its own shape; the endpoint's answer may grow fields.
      traces = { inserted: sent.result.inserted, existing: sent.result.existing };
      sent.progress.finish(traceRows, `${traces.inserted} inserted, ${traces.existing} existing`);
    }
    const summary = {
      dataset,
      datasetId: target.id,
      created: target.created,
      format,
      rows: converted.rows,
      samples: {
        inserted: samples.result.inserted,
        existing: samples.result.existing,
        duplicateCount: dup,
      },
      traces,
    };
    if (values.json) return printJson(summary);
    return EXIT.OK;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
