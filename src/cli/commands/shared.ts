import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../api-client';

/** Exit codes of every `stagewise` command (`runs watch` maps the run's outcome onto 0-2). */
export const EXIT = {
  OK: 0,
  /** runs watch: the run FAILED. Other commands: the API refused the request. */
  FAILED: 1,
  /** runs watch: the run was CANCELLED. */
  CANCELLED: 2,
  /** A wrong command line, no server, a wrong key, a lost connection that did not come back. */
  USAGE: 3,
} as const;

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs, with its errors turned into usage errors that carry the usage text. */
export function parse<O extends Options>(argv: string[], options: O, usage: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${err instanceof Error ? err.message : String(err)}\n\n${usage}`);
  }
}

export function intOption(value: string | undefined, name: string, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new UsageError(`--${name} must be an integer >= ${min} (got ${JSON.stringify(value)})`);
  }
  return n;
}

export function jsonObjectOption(
  value: string | undefined,
  name: string,
): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    throw new UsageError(`--${name} is not valid JSON: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UsageError(`--${name} must be a JSON object, e.g. '{"steps": 30}'`);
  }
  return parsed as Record<string, unknown>;
}

/** The repository's gpu-runner folder: <root>/dist/src/cli/commands -> <root>/gpu-runner. */
export function runnerDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.RUNNER_DIR ?? path.join(__dirname, '..', '..', '..', '..', 'gpu-runner'));
}

export function runnerPython(env: NodeJS.ProcessEnv = process.env): string {
  return env.RUNNER_PYTHON ?? '/usr/bin/python3';
}

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
