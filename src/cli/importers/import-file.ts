/**
 * Converts a GSM8K, MATH, or column-mapped JSONL / Parquet file into the two NDJSON files the bulk
 * endpoints take (samples, then TEACHER traces). The whole file is checked before anything is
 * sent, so a bad row stops the import before the API writes a single sample.
 */
import fs from 'node:fs';
import { once } from 'node:events';
import { badInput } from '../../common/errors';
import type { ImportFormat } from './formats';
import { gsm8kRow } from './gsm8k';
import { mappedRow, type ColumnMapping } from './mapping';
import { mathRow } from './math';
import type { ImportedRow, SourceRow } from './records';
import { openSource, type SourceProgress } from './sources';

export interface ConvertOptions {
  format: ImportFormat;
  file: string;
  /** Required for jsonl and parquet. */
  mapping?: ColumnMapping;
  samplesOut: string;
  tracesOut: string;
  onProgress?: (progress: SourceProgress & { rows: number }) => void;
}

export interface ConvertResult {
  rows: number;
  traces: number;
  /** Which reader the file needed. */
  source: 'jsonl' | 'parquet';
}

/** The row converter of a format. */
function converter(
  format: ImportFormat,
  mapping: ColumnMapping | undefined,
): (row: SourceRow, rowNumber: number) => ImportedRow {
  if (format === 'gsm8k') return gsm8kRow;
  if (format === 'math') return mathRow;
  if (!mapping)
    throw badInput(`--format ${format} needs --map (e.g. problem=question,answer=final)`);
  return (row, rowNumber) => mappedRow(mapping, row, rowNumber);
}

/** An NDJSON file written with backpressure. */
class NdjsonWriter {
  private readonly out: fs.WriteStream;
  constructor(file: string) {
    this.out = fs.createWriteStream(file);
  }
  async write(record: unknown): Promise<void> {
    if (!this.out.write(`${JSON.stringify(record)}\n`)) await once(this.out, 'drain');
  }
  async close(): Promise<void> {
    this.out.end();
    await once(this.out, 'finish');
  }
}

export async function convertFile(options: ConvertOptions): Promise<ConvertResult> {
  const toRecords = converter(options.format, options.mapping);
  const source = await openSource(options.file);
  if (options.format === 'parquet' && source.kind !== 'parquet') {
    throw badInput(`${options.file} is not a Parquet file (no PAR1 magic bytes)`);
  }
  const samples = new NdjsonWriter(options.samplesOut);
  const traces = new NdjsonWriter(options.tracesOut);
  let rows = 0;
  let traceCount = 0;
  try {
    for await (const { row, rowNumber, done } of source.rows()) {
      const { sample, trace } = toRecords(row, rowNumber);
      await samples.write(sample);
      if (trace) {
        await traces.write({
          sampleExternalId: sample.externalId,
          kind: 'TEACHER',
          text: trace.text,
          producer: trace.producer,
        });
        traceCount += 1;
      }
      rows += 1;
      options.onProgress?.({ done, total: source.total, unit: source.unit, rows });
    }
  } finally {
    await samples.close();
    await traces.close();
  }
  return { rows, traces: traceCount, source: source.kind };
}
