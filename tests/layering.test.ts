import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { removeTempDir, tempDir } from './helpers/temp';

/** The repository root: two levels above dist/tests. */
const ROOT = path.join(__dirname, '..', '..');
const CONFIG = path.join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = path.join(ROOT, 'node_modules', '.bin', 'depcruise');

/** Runs the import-boundary check as `npm test`'s lint step does, in `cwd`. */
function cruise(cwd: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      DEPCRUISE,
      ['src', '--config', CONFIG, '--output-type', 'err', ...args],
      { cwd, timeout: 120_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, output: stdout + stderr });
      },
    );
  });
}

/** A tiny project laid out like src/, each file's imports given. */
function fixture(files: Record<string, string>): string {
  const dir = tempDir('stagewise-layering-');
  fs.writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { module: 'Node16', moduleResolution: 'Node16' } }),
  );
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  }
  return dir;
}

describe('the import-boundary rule (.dependency-cruiser.cjs)', () => {
  const made: string[] = [];
  after(() => made.forEach(removeTempDir));

  it('holds for src/', async () => {
    const { code, output } = await cruise(ROOT, []);
    assert.equal(code, 0, output);
  });

  it('fails a module that imports app/, naming the rule', async () => {
    const dir = fixture({
      'src/app/config.ts': 'export const PORT = 1;\n',
      'src/modules/runs/run.service.ts':
        "import { PORT } from '../../app/config';\nexport const p = PORT;\n",
    });
    made.push(dir);
    const { code, output } = await cruise(dir, []);
    assert.notEqual(code, 0, output);
    assert.match(
      output,
      /modules-never-import-app: src\/modules\/runs\/run\.service\.ts → src\/app\/config\.ts/,
    );
  });

  it("fails common/ importing a module, a module reaching into another one's private file, and a cycle", async () => {
    const dir = fixture({
      'src/common/ids.ts':
        "import { Run } from '../modules/runs/run.entity';\nexport const r = Run;\n",
      'src/modules/runs/run.entity.ts': 'export class Run {}\n',
      'src/modules/runs/run.sql.ts': "export const SQL = 'SELECT 1';\n",
      'src/modules/curricula/curriculum.service.ts':
        "import { SQL } from '../runs/run.sql';\nimport { Run } from '../runs/run.entity';\nexport const s = [SQL, Run];\n",
      'src/grading/a.ts': "import { b } from './b';\nexport const a = () => b;\n",
      'src/grading/b.ts': "import { a } from './a';\nexport const b = () => a;\n",
    });
    made.push(dir);
    const { code, output } = await cruise(dir, []);
    assert.notEqual(code, 0, output);
    assert.match(
      output,
      /common-is-the-bottom: src\/common\/ids\.ts → src\/modules\/runs\/run\.entity\.ts/,
    );
    assert.match(
      output,
      /module-through-its-public-files: src\/modules\/curricula\/curriculum\.service\.ts → src\/modules\/runs\/run\.sql\.ts/,
    );
    // Through the entity is allowed: only the private file is named.
    assert.doesNotMatch(output, /curriculum\.service\.ts → src\/modules\/runs\/run\.entity\.ts/);
    assert.match(output, /no-circular: src\/grading\/(a|b)\.ts/);
  });

  it('fails a second pg-boss instance: only common/db/job-queue.ts builds the job queue', async () => {
    const dir = fixture({
      'src/common/db/job-queue.ts':
        "import PgBoss from 'pg-boss';\nexport const createJobQueue = () => new PgBoss('');\n",
      'src/modules/webhooks/webhook.dispatcher.ts':
        "import PgBoss from 'pg-boss';\nexport const own = () => new PgBoss('');\n",
    });
    made.push(dir);
    const { code, output } = await cruise(dir, []);
    assert.notEqual(code, 0, output);
    // The module is named as found: bare when the fixture resolves no pg-boss, a path when a
    // node_modules above the temp dir holds one.
    assert.match(
      output,
      /one-job-queue: src\/modules\/webhooks\/webhook\.dispatcher\.ts → (\S*node_modules\/)?pg-boss\b/,
    );
    assert.doesNotMatch(output, /one-job-queue: src\/common\/db\/job-queue\.ts/);
  });
});

describe('the transaction rule (eslint.config.mjs): src/ opens a transaction only through withTransaction', () => {
  // A syntax rule: the type-aware rules are left off, so files need not exist to be linted.
  const eslint = new ESLint({ cwd: ROOT, overrideConfig: tseslint.configs.disableTypeChecked });
  /** The lines the rule flags, `text` linted as if it were the file `file` of src/. */
  const flagged = async (file: string, text?: string): Promise<number[]> => {
    const [result] =
      text === undefined
        ? await eslint.lintFiles([path.join(ROOT, file)])
        : await eslint.lintText(text, { filePath: path.join(ROOT, file) });
    return result.messages.filter((m) => m.ruleId === 'no-restricted-syntax').map((m) => m.line);
  };

  it('holds for src/', async () => {
    const results = await eslint.lintFiles([path.join(ROOT, 'src')]);
    const hits = results.flatMap((r) =>
      r.messages
        .filter((m) => m.ruleId === 'no-restricted-syntax')
        .map((m) => `${path.relative(ROOT, r.filePath)}:${m.line}`),
    );
    assert.deepEqual(hits, []);
  });

  it('fails a module that opens a transaction on its DataSource or a manager, or writes BEGIN', async () => {
    const lines = await flagged(
      'src/modules/runs/run.fixture.ts',
      [
        "import type { DataSource, EntityManager } from 'typeorm';",
        "export const a = (ds: DataSource) => ds.transaction((m) => m.query('SELECT 1'));",
        'export const b = (m: EntityManager) => m.transaction(() => Promise.resolve(1));',
        "export const c = (m: EntityManager) => m.query('BEGIN');",
        'export const d = (ds: DataSource) => ds.createQueryRunner();',
        '',
      ].join('\n'),
    );
    assert.deepEqual(lines, [2, 3, 4, 5]);
  });

  it('lets a module go through withTransaction, and common/request-context.ts open the transaction', async () => {
    assert.deepEqual(
      await flagged(
        'src/modules/runs/run.fixture.ts',
        [
          "import { withTransaction, type RequestContext } from '../../common/request-context';",
          "export const a = (ctx: RequestContext) => withTransaction(ctx, (tx) => tx.manager.query('SELECT 1'));",
          '',
        ].join('\n'),
      ),
      [],
    );
    assert.deepEqual(await flagged('src/common/request-context.ts'), []);
  });
});
