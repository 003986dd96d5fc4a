import type { Request, Response } from 'express';
import type { DataSource } from 'typeorm';

export interface Readiness {
  ready: boolean;
  database: { ok: boolean; error?: string };
  migrations?: {
    applied: number;
    /** Compiled into this build but not applied to the database: not ready. */
    pending: string[];
    /** Applied to the database but unknown to this build (a newer replica migrated it). */
    unknown: string[];
  };
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Whether this process can serve: the database answers, and every migration this build carries
 * is applied (a replica started against an older schema would fail on its first query).
 */
export async function checkReadiness(ds: DataSource, timeoutMs: number): Promise<Readiness> {
  let rows: { name: string }[];
  try {
    const table = ds.options.migrationsTableName ?? 'migrations';
    rows = await withTimeout(
      ds.query<{ name: string }[]>(`SELECT name FROM "${table}"`),
      timeoutMs,
    );
  } catch (err) {
    return { ready: false, database: { ok: false, error: (err as Error).message } };
  }
  const applied = new Set(rows.map((r) => r.name));
  const known = ds.migrations.map((m) => m.name ?? m.constructor.name);
  const pending = known.filter((name) => !applied.has(name));
  const unknown = [...applied].filter((name) => !known.includes(name));
  return {
    ready: pending.length === 0,
    database: { ok: true },
    migrations: { applied: applied.size, pending, unknown },
  };
}

/** GET /readyz: 200 when ready, else 503; the body says which check failed. */
export function readyzHandler(ds: DataSource, timeoutMs: number) {
  return (_req: Request, res: Response) => {
    void checkReadiness(ds, timeoutMs).then((r) => {
      res.status(r.ready ? 200 : 503).json({ status: r.ready ? 'ready' : 'not ready', ...r });
    });
  };
}
