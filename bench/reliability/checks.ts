/**
 * The suite's checks by name, each turning its measurements into one table row: what it held,
 * what it survived, how many hostile inputs it tried, what got lost, and whether promises held.
 */
import path from 'node:path';
import fs from 'node:fs';
import { createDatabase } from './api-process';
import { runFuzz } from './fuzz';
import type { CheckRow } from './report';

export interface SuiteContext {
  args: { fuzz: number; clients: number; seconds: number; importLines: number; seed: number };
  workDir: string;
  /** Admin URL of the suite's own PostgreSQL. */
  adminUrl: string;
  schemaFile: string;
  log(line: string): void;
  stopPostgres(): Promise<void>;
  startPostgres(): Promise<void>;
  /** Every secret a check handed out, for the secrets scan. */
  secrets?: string[];
}

/** A folder for one check's log and runs. */
function checkDir(ctx: SuiteContext, name: string): { logFile: string; runsDir: string } {
  const dir = path.join(ctx.workDir, name);
  fs.mkdirSync(path.join(dir, 'runs'), { recursive: true });
  return { logFile: path.join(dir, 'api.log'), runsDir: path.join(dir, 'runs') };
}

async function fuzzCheck(ctx: SuiteContext): Promise<CheckRow> {
  const db = await createDatabase(ctx.adminUrl);
  try {
    const r = await runFuzz({
      databaseUrl: db.url,
      ...checkDir(ctx, 'fuzz'),
      schemaFile: ctx.schemaFile,
      requests: ctx.args.fuzz,
      seed: ctx.args.seed,
    });
    const total = r.graphql + r.ndjson + r.runner;
    const byLabel = Object.entries(r.byLabel)
      .sort((a, b) => b[1] - a[1])
      .map(([label, n]) => `${label}: ${n}`);
    return {
      check: 'fuzz',
      load: `${r.graphql} GraphQL (${r.rootFields} root fields) + ${r.ndjson} NDJSON + ${r.runner} runner; /healthz x${r.healthChecks}`,
      faults: '-',
      badInputs: total,
      lostOrDuplicated: null,
      ok: r.problemCount === 0 && r.apiAlive,
      notes: [
        ...(r.problemCount
          ? [`${r.problemCount} broken answers; by request: ${byLabel.join(', ')}`]
          : []),
        ...r.problems.map((p) => `${p.what} -> ${p.detail}`),
      ],
    };
  } finally {
    await db.drop();
  }
}

export const CHECKS = {
  fuzz: fuzzCheck,
} satisfies Record<string, (ctx: SuiteContext) => Promise<CheckRow>>;

export type CheckName = keyof typeof CHECKS;
