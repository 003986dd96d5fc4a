import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
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
    assert.match(
      output,
      /one-job-queue: src\/modules\/webhooks\/webhook\.dispatcher\.ts → pg-boss/,
    );
    assert.doesNotMatch(output, /one-job-queue: src\/common\/db\/job-queue\.ts/);
  });
});
