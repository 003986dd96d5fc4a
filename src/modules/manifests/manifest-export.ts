import type { Writable } from 'node:stream';
import type { Response } from 'express';
import type { DataSource } from 'typeorm';
import type { SchemaElement, Writer } from 'hyparquet-writer' with { 'resolution-mode': 'import' };
import { toGlobalId } from '../../common/ids';
import { streamNdjson } from '../../common/ndjson-export';
import { withSnapshotCursor } from '../../common/db/snapshot-cursor';
import type { Manifest } from './manifest.entity';

/**
 * Manifest exports for trainers: NDJSON in chat-message form (as TRL reads it) and Parquet in
 * verl's RL/SFT layout. Both read the items in ordinal order through a server-side cursor in one
 * snapshot, so memory stays flat (one Parquet row group at most) whatever the manifest's size.
 */
export type ExportFormat = 'ndjson' | 'parquet';

/** Rows per Parquet row group: the most an export holds in memory at once. */
export const PARQUET_ROW_GROUP_ROWS = 10_000;

/** One manifest item with what a trainer needs of its sample and trace. */
interface ItemRow {
  ordinal: number;
  sample_id: string;
  trace_id: string | null;
  problem: string;
  answer: string;
  domain: string | null;
  dataset: string;
  split: string;
  completion: string | null;
  hint: string | null;
}

const ITEMS_SQL = `
  SELECT i.ordinal, i.sample_id::text AS sample_id, i.trace_id::text AS trace_id,
         s.problem, s.answer, s.domain, d.name AS dataset, d.split::text AS split,
         t.text AS completion,
         CASE WHEN jsonb_typeof(t.metadata -> 'hint') = 'string'
              THEN NULLIF(t.metadata ->> 'hint', '') END AS hint
  FROM manifest_items i
  JOIN samples s ON s.id = i.sample_id
  JOIN datasets d ON d.id = s.dataset_id
  LEFT JOIN traces t ON t.id = i.trace_id
  WHERE i.manifest_id = $1
  ORDER BY i.ordinal`;

/**
 * The user turn. With a hint (partial-solution supervision, `trace.metadata.hint`), the start of
 * the solution joins the prompt and the trace text is what the student learns to finish.
 */
function promptOf(row: ItemRow): string {
  return row.hint === null ? row.problem : `${row.problem}\n\n${row.hint}`;
}

/** The file name a download is saved under. */
export function exportFilename(manifest: Manifest, format: ExportFormat): string {
  const ext = format === 'parquet' ? 'parquet' : 'jsonl';
  return `manifest-${manifest.id}-${manifest.purpose.toLowerCase()}.${ext}`;
}

/**
 * NDJSON, one item a line. Items with a trace (SFT-like) are conversations:
 * `{"messages":[{"role":"user",...},{"role":"assistant",...}],"sample_id","trace_id","ordinal"}`;
 * prompt-only items (RL, PROBE, EVAL) are `{"prompt":[{"role":"user",...}],"answer",
 * "sample_id","ordinal"}`, the gold answer beside for the reward function.
 */
export function exportNdjson(ds: DataSource, res: Response, manifest: Manifest): Promise<void> {
  return streamNdjson(ds, res, ITEMS_SQL, [manifest.id], (raw) => {
    const row = raw as unknown as ItemRow;
    const sampleId = toGlobalId('Sample', row.sample_id);
    if (row.trace_id !== null) {
      return {
        messages: [
          { role: 'user', content: promptOf(row) },
          { role: 'assistant', content: row.completion },
        ],
        sample_id: sampleId,
        trace_id: toGlobalId('Trace', row.trace_id),
        ordinal: row.ordinal,
      };
    }
    return {
      prompt: [{ role: 'user', content: row.problem }],
      answer: row.answer,
      sample_id: sampleId,
      ordinal: row.ordinal,
    };
  });
}

/** The top-level columns verl reads (its `data.prompt_key` is `prompt`). */
const VERL_COLUMNS = ['data_source', 'prompt', 'ability', 'reward_model', 'extra_info'];

const utf8 = (name: string, repetition_type: 'REQUIRED' | 'OPTIONAL' = 'REQUIRED') =>
  ({ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type }) as const;

/**
 * verl's columns, as pyarrow writes them: `prompt` is a 3-level LIST of STRUCT{role, content};
 * `reward_model` and `extra_info` are STRUCTs. `response` (the completion) only when the
 * manifest carries traces.
 */
function parquetSchema(withResponse: boolean): SchemaElement[] {
  return [
    { name: 'schema', num_children: withResponse ? 6 : 5 },
    utf8('data_source'),
    { name: 'prompt', repetition_type: 'REQUIRED', converted_type: 'LIST', num_children: 1 },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    { name: 'element', repetition_type: 'REQUIRED', num_children: 2 },
    utf8('role'),
    utf8('content'),
    utf8('ability'),
    { name: 'reward_model', repetition_type: 'REQUIRED', num_children: 2 },
    utf8('style'),
    utf8('ground_truth'),
    { name: 'extra_info', repetition_type: 'REQUIRED', num_children: 3 },
    { name: 'index', type: 'INT64', repetition_type: 'REQUIRED' },
    utf8('sample_id'),
    utf8('split'),
    ...(withResponse ? [utf8('response', 'OPTIONAL')] : []),
  ];
}

/** One verl row; `split` is the sample's dataset split (train or eval). */
function parquetRow(row: ItemRow) {
  return {
    data_source: row.dataset,
    prompt: [{ role: 'user', content: promptOf(row) }],
    ability: row.domain ?? 'math',
    reward_model: { style: 'rule', ground_truth: row.answer },
    extra_info: {
      index: BigInt(row.ordinal),
      sample_id: toGlobalId('Sample', row.sample_id),
      split: row.split.toLowerCase(),
    },
    response: row.completion,
  };
}

/** Resolves when `out` drains; rejects if it closes first (the client went away). */
function drained(out: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (err?: Error) => {
      out.off('drain', onDrain);
      out.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => settle();
    const onClose = () => settle(new Error('The client closed the connection mid-export'));
    out.on('drain', onDrain);
    out.on('close', onClose);
  });
}

/**
 * A hyparquet-writer sink on the response: the writer encodes one row group into its buffer,
 * then calls flush(), which sends the bytes and waits for the socket before the next group.
 */
function responseWriter(ByteWriter: new () => Writer & { index: number }, res: Response): Writer {
  const writer = new ByteWriter();
  const send = async () => {
    if (writer.index === 0) return;
    const chunk = Buffer.from(new Uint8Array(writer.buffer, 0, writer.index));
    writer.index = 0;
    if (res.destroyed) throw new Error('The client closed the connection mid-export');
    if (!res.write(chunk)) await drained(res);
  };
  writer.flush = send;
  writer.finish = send;
  return writer;
}

/**
 * Parquet, streamed: rows come through the cursor and leave as row groups of
 * PARQUET_ROW_GROUP_ROWS, so the server holds one group at a time.
 */
export async function exportParquet(
  ds: DataSource,
  res: Response,
  manifest: Manifest,
): Promise<void> {
  const { ByteWriter, parquetWriteRows } = await import('hyparquet-writer');
  const [{ traced }] = await ds.query<{ traced: boolean }[]>(
    `SELECT EXISTS (SELECT 1 FROM manifest_items WHERE manifest_id = $1 AND trace_id IS NOT NULL)
       AS traced`,
    [manifest.id],
  );
  const columns = (traced ? [...VERL_COLUMNS, 'response'] : VERL_COLUMNS).map((name) => ({ name }));
  await withSnapshotCursor<ItemRow>(ds, ITEMS_SQL, [manifest.id], async (rows) => {
    res.status(200).type('application/vnd.apache.parquet');
    async function* verlRows() {
      for await (const row of rows) yield parquetRow(row);
    }
    await parquetWriteRows({
      writer: responseWriter(ByteWriter, res),
      schema: parquetSchema(traced),
      columns,
      rows: verlRows(),
      rowGroupSize: PARQUET_ROW_GROUP_ROWS,
    });
    res.end();
  });
}
