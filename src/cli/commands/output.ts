/**
 * What the `stagewise` commands print: numbers, durations and times as people read them, plain
 * tables, and a result as JSON (--json) instead.
 */
import { EXIT } from './shared';

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '-';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  if (m < 60) return `${m}m${String(s).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function formatNumber(v: unknown): string {
  if (typeof v !== 'number') return String(v);
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  const abs = Math.abs(v);
  return abs >= 100 ? v.toFixed(0) : abs >= 1 ? v.toFixed(3) : v.toPrecision(3);
}

/** HH:MM:SS (UTC) of an ISO time, or of now: the stamp of a watch line. */
export const clock = (iso?: string) =>
  (iso ? new Date(iso) : new Date()).toISOString().slice(11, 19);

/** "YYYY-MM-DD HH:MM:SS" (UTC) of an ISO time, for a table's date column. */
export const dateTime = (iso: string) => iso.replace('T', ' ').slice(0, 19);

/** A run's progress as the API reports it. */
export interface RunProgress {
  step?: number;
  totalSteps?: number;
  etaSeconds?: number;
}

/** "5/20" while a run counts its steps; undefined before it knows how many. */
export function stepCount(p: RunProgress | null | undefined): string | undefined {
  return p?.totalSteps ? `${p.step ?? 0}/${p.totalSteps}` : undefined;
}

/** "step 5/20 (25%) eta 1m02s train/loss=0.5": a progress line, without its time stamp. */
export function stepProgress(
  step: number,
  total: number,
  etaSeconds: number | null | undefined,
  metrics: string,
): string {
  const pct = total ? Math.floor((100 * step) / total) : 0;
  const eta =
    typeof etaSeconds === 'number' && step < total ? ` eta ${formatDuration(etaSeconds)}` : '';
  return `step ${step}/${total} (${pct}%)${eta}${metrics ? ` ${metrics}` : ''}`;
}

/** A plain-text table: left-aligned columns, a header row. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** Prints a result as one line of JSON; the exit code of a command that did its job. */
export function printJson(value: unknown): number {
  console.log(JSON.stringify(value));
  return EXIT.OK;
}

export interface ListView<T> {
  /** --json: the whole list as one line of JSON. */
  json: boolean;
  /** What an empty list prints, e.g. "No runs.". */
  empty: string;
  headers: string[];
  row(item: T): string[];
}

/** Prints what a `list` subcommand found: as JSON, as `empty`, or as a table. */
export function printList<T>(items: T[], view: ListView<T>): number {
  if (view.json) return printJson(items);
  console.log(
    items.length
      ? table(
          view.headers,
          items.map((item) => view.row(item)),
        )
      : view.empty,
  );
  return EXIT.OK;
}
