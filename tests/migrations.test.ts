import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { createAppDataSource } from '../src/app/data-source';
import { repoRoot } from './helpers/processes';
import { createTestDatabase } from './helpers/test-server';

/**
 * The migration names the repository's migrations/ folder holds, oldest first: the file
 * `1795664306714-Initial.ts` declares class and name `Initial1795664306714`.
 */
function committedMigrationNames(): string[] {
  return fs
    .readdirSync(path.join(repoRoot(), 'migrations'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => {
      const m = /^(\d+)-(\w+)\.ts$/.exec(f);
      assert.ok(m, `migrations/${f} is not named TIMESTAMP-Name.ts`);
      return { timestamp: Number(m[1]), name: `${m[2]}${m[1]}` };
    })
    .sort((a, b) => a.timestamp - b.timestamp)
    .map((m) => m.name);
}

async function pendingSchemaChanges(ds: DataSource): Promise<string[]> {
  const sql = await ds.driver.createSchemaBuilder().log();
  return sql.upQueries.map((q) => q.query);
}

async function appliedCount(ds: DataSource): Promise<number> {
  const rows: { n: number }[] = await ds.query(`SELECT count(*)::int AS n FROM typeorm_migrations`);
  return rows[0].n;
}

/** Tables, sequences, types and functions in public (but the ledger and extensions' own). */
async function userObjects(ds: DataSource): Promise<string[]> {
  const rows: { name: string }[] = await ds.query(`
    SELECT c.relkind::text || ':' || c.relname AS name
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'm', 'S', 'p')
       AND c.relname NOT LIKE 'typeorm_migrations%'
    UNION ALL
    SELECT 'type:' || t.typname
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'c')
       AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.reltype = t.oid)
    UNION ALL
    SELECT 'function:' || p.proname
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = 'public'
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
    ORDER BY 1`);
  return rows.map((r) => r.name);
}

describe('migrations', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let ds: DataSource;
  before(async () => {
    db = await createTestDatabase();
    ds = createAppDataSource(db.url, { poolSize: 2 });
    await ds.initialize();
  });
  after(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await db?.drop();
  });

  it('finds exactly the migrations of migrations/, in the order of their timestamps', () => {
    // A compiled migration left in dist/ after its source was removed or renamed, a class whose
    // name does not match its file, or a file the build missed would each show here.
    const committed = committedMigrationNames();
    assert.ok(committed.length > 0, 'migrations/ holds migrations');
    assert.deepEqual(
      ds.migrations.map((m) => m.name),
      committed,
    );
  });

  it('brings a fresh database to exactly what the entities describe', async () => {
    const applied = await ds.runMigrations({ transaction: 'each' });
    assert.equal(applied.length, ds.migrations.length);
    assert.deepEqual(await pendingSchemaChanges(ds), []);
    assert.equal(await ds.showMigrations(), false, 'nothing pending');
  });

  it('is idempotent: running again applies nothing', async () => {
    assert.deepEqual(await ds.runMigrations({ transaction: 'each' }), []);
  });

  it('is reversible: undoing every migration leaves an empty schema', async () => {
    let n = await appliedCount(ds);
    assert.ok(n > 0);
    while (n > 0) {
      await ds.undoLastMigration({ transaction: 'each' });
      const after = await appliedCount(ds);
      assert.equal(after, n - 1, 'each undo removes one migration');
      n = after;
    }
    assert.deepEqual(await userObjects(ds), []);
  });

  it('runs again after a full undo, and still agrees with the entities', async () => {
    const applied = await ds.runMigrations({ transaction: 'each' });
    assert.equal(applied.length, ds.migrations.length);
    assert.deepEqual(await pendingSchemaChanges(ds), []);
  });
});
