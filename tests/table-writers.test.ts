/**
 * One writer per table (ARCHITECTURE.md): each of these tables is inserted, updated or deleted
 * from one module's folder only; every other module calls that module's service. The test reads
 * src/ for the two ways code writes a table — SQL text (INSERT INTO / UPDATE / DELETE FROM) and
 * TypeORM writes through its entity (a repository's save/insert/update/delete…, the manager's
 * insert(Entity…), a query builder's insert().into(Entity)) — and names the files that do.
 * What it cannot see: `manager.save(instance)` of an entity object, which names no table.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from './helpers/processes';

/** Each table, its entity class, and the module folder that alone may write it. */
const OWNERS = [
  { table: 'traces', entity: 'Trace', owner: 'src/modules/traces' },
  { table: 'pass_rates', entity: 'PassRate', owner: 'src/modules/mastery' },
  { table: 'critiques', entity: 'Critique', owner: 'src/modules/critiques' },
  { table: 'stage_assignments', entity: 'StageAssignment', owner: 'src/modules/routing' },
  { table: 'runs', entity: 'Run', owner: 'src/modules/runs' },
  { table: 'checkpoints', entity: 'Checkpoint', owner: 'src/modules/checkpoints' },
] as const;

type Table = (typeof OWNERS)[number]['table'];

const WRITE_METHODS =
  'save|insert|update|upsert|delete|remove|softDelete|softRemove|restore|increment|decrement|clear';

/** The tables of OWNERS that a source text writes. */
function tablesWritten(source: string): Set<Table> {
  const written = new Set<Table>();
  for (const { table, entity } of OWNERS) {
    const sql = new RegExp(`\\b(INSERT\\s+INTO|UPDATE|DELETE\\s+FROM)\\s+"?${table}"?\\b`);
    // repo-style: getRepository(X)….save( within one statement (no `;` between).
    const chained = new RegExp(
      `getRepository\\(\\s*${entity}\\s*\\)[^;]*?\\.(${WRITE_METHODS})\\(`,
    );
    // manager-style: manager.insert(X, …), .update(X, …), .save(X, …), a save of a new
    // entity (manager.save(m.getRepository(X).create(…))); query builders' .into(X) and
    // .delete().from(X).
    const byEntity = new RegExp(
      `\\.(${WRITE_METHODS})\\(\\s*${entity}\\b(?!\\w)|\\.(save|insert|upsert)\\(\\s*[\\w.]*getRepository\\(\\s*${entity}\\s*\\)|\\.into\\(\\s*${entity}\\b|\\.delete\\(\\)\\s*\\.from\\(\\s*${entity}\\b`,
    );
    // A repository kept in a variable: const repo = m.getRepository(X); … repo.save(…).
    const repoVars = [
      ...source.matchAll(
        new RegExp(
          `(?:const|let)\\s+(\\w+)\\s*=\\s*[\\w.]*getRepository\\(\\s*${entity}\\s*\\)`,
          'g',
        ),
      ),
    ].map((m) => m[1]);
    const viaVar = repoVars.some((v) =>
      new RegExp(`\\b${v}\\s*\\.(${WRITE_METHODS})\\(`).test(source),
    );
    if (sql.test(source) || chained.test(source) || byEntity.test(source) || viaVar) {
      written.add(table);
    }
  }
  return written;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return e.name.endsWith('.ts') ? [full] : [];
  });
}

/** For each table, the files of src/ that write it (paths relative to the repository). */
function writersInSrc(): Map<Table, string[]> {
  const root = repoRoot();
  const writers = new Map<Table, string[]>(OWNERS.map((o) => [o.table, []]));
  for (const file of sourceFiles(path.join(root, 'src'))) {
    const rel = path.relative(root, file).split(path.sep).join('/');
    for (const table of tablesWritten(fs.readFileSync(file, 'utf8'))) {
      writers.get(table)!.push(rel);
    }
  }
  return writers;
}

describe('one writer per table', () => {
  const writers = writersInSrc();

  for (const { table, owner } of OWNERS) {
    it(`writes ${table} only from ${owner}/`, () => {
      const files = writers.get(table)!;
      assert.ok(files.length > 0, `found no writer of ${table}: the search itself is broken`);
      const foreign = files.filter((f) => !f.startsWith(`${owner}/`));
      assert.deepEqual(foreign, [], `${table} is written outside ${owner}/`);
    });
  }

  it('finds the writers it knows of, each by the form it uses', () => {
    const has = (table: Table, file: string) =>
      assert.ok(
        writers.get(table)!.includes(file),
        `${file} writes ${table} but was not found (${writers.get(table)!.join(', ')})`,
      );
    has('traces', 'src/modules/traces/trace.writer.ts'); // INSERT INTO / UPDATE traces
    has('traces', 'src/modules/traces/trace.import.ts'); // the import's staged INSERT
    has('pass_rates', 'src/modules/mastery/pass-rate.sql.ts'); // the upsert
    has('critiques', 'src/modules/critiques/critique.service.ts');
    has('stage_assignments', 'src/modules/routing/routing.apply.ts'); // INSERT and DELETE
    has('runs', 'src/modules/runs/run.service.ts'); // manager.save(getRepository(Run).create(…))
    has('runs', 'src/modules/runs/run-journal.ts'); // manager.update(Run, …)
    has('checkpoints', 'src/modules/checkpoints/checkpoint.service.ts'); // repo.save(…)
  });

  it('catches a foreign write in each form it looks for', () => {
    // Each snippet is what a module other than the owner might write; each must be seen.
    const foreign: [string, Table][] = [
      ["await m.query('INSERT INTO traces (sample_id) VALUES ($1)', [id]);", 'traces'],
      ['await m.query(`UPDATE pass_rates SET rate = 1 WHERE id = $1`, [id]);', 'pass_rates'],
      ["await m.query('DELETE FROM stage_assignments WHERE round = 1');", 'stage_assignments'],
      ['await ds.getRepository(Critique).save({ verified: true });', 'critiques'],
      ['const repo = m.getRepository(Checkpoint);\nawait repo.insert({ name });', 'checkpoints'],
      ['await manager.insert(Run, { stage });', 'runs'],
      ['await manager.save(\n  manager.getRepository(Run).create({ stage }),\n);', 'runs'],
      ['await manager.update(Run, { id }, { status });', 'runs'],
      [
        'await ds.createQueryBuilder().insert().into(StageAssignment).values(rows).execute();',
        'stage_assignments',
      ],
      ['await ds.createQueryBuilder().delete().from(PassRate).execute();', 'pass_rates'],
      [
        'await ds.getRepository(Trace)\n  .createQueryBuilder()\n  .update()\n  .set({ correct: true })\n  .execute();',
        'traces',
      ],
    ];
    for (const [snippet, table] of foreign) {
      assert.ok(tablesWritten(snippet).has(table), `not caught as a write of ${table}: ${snippet}`);
    }
  });

  it('does not count reads or other tables as writes', () => {
    const reads = [
      'const run = await ds.getRepository(Run).findOneByOrFail({ id });',
      "await m.query('SELECT * FROM traces t JOIN pass_rates p ON p.sample_id = t.sample_id');",
      'UPDATE api_keys k SET revoked_at = now() FROM runs r WHERE k.run_id = r.id',
      'const repo = m.getRepository(Checkpoint);\nawait repo.findOneBy({ name });',
      'ON CONFLICT (sample_id, checkpoint_id) DO UPDATE SET attempts = pass_rates.attempts + 1',
    ];
    for (const snippet of reads) {
      assert.deepEqual([...tablesWritten(snippet)], [], `counted as a write: ${snippet}`);
    }
  });
});
