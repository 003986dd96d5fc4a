/**
 * The researcher's notebook (examples/researcher.ipynb) as the README gives it: the README's
 * command (`npm run notebook` with a key) is read from README.md and run as written against a
 * live server. It seeds what the notebook looks at through the API (the built-in task, a
 * checkpoint that probed it, a routing policy), executes every cell headless with Debian's
 * jupyter-nbconvert, and must exit 0; the executed notebook is kept in test-artifacts/. A second
 * call reuses what the first seeded.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from './helpers/test-server';
import { runEnv } from './helpers/runs';
import { gqlOk } from './helpers/seed';
import { repoRoot } from './helpers/processes';
import { removeTempDir, tempDir } from './helpers/temp';
import { runCommand } from './helpers/python';

const NOTEBOOK = path.join(repoRoot(), 'examples', 'researcher.ipynb');

interface Output {
  output_type: string;
  ename?: string;
  evalue?: string;
  traceback?: string[];
  data?: Record<string, unknown>;
}

/** The README's notebook command: the shell line of its notebook section that runs `npm run notebook`. */
function readmeNotebookCommand(): string {
  const readme = fs.readFileSync(path.join(repoRoot(), 'README.md'), 'utf8');
  const section = readme.split('## Python client and notebook')[1]?.split('\n## ')[0] ?? '';
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  const line = blocks
    .flatMap((b) => b.split('\n'))
    .find((l) => /^STAGEWISE_API_KEY=sw_\.\.\. npm run notebook\s*(#.*)?$/.test(l));
  assert.ok(line, 'the README gives `STAGEWISE_API_KEY=sw_... npm run notebook` in a sh block');
  return line.replace(/\s*#.*$/, '');
}

/** The ids a call printed (`notebook: STAGEWISE_X_ID='...'` or `export STAGEWISE_X_ID='...'`). */
function idsIn(output: string): Record<string, string> {
  const ids: Record<string, string> = {};
  for (const m of output.matchAll(/(STAGEWISE_[A-Z]+_ID)='([^']+)'/g)) ids[m[1]] = m[2];
  return ids;
}

describe('the researcher notebook', () => {
  let t: TestServer;
  let dir: string;
  /** What the command gets besides the line itself: the test server, small knobs, no rebuild. */
  let env: Record<string, string>;
  let firstIds: Record<string, string> = {};

  before(async () => {
    t = await startTestServer(runEnv());
    dir = tempDir('stagewise-notebook-');
    env = {
      STAGEWISE_URL: t.url,
      NOTEBOOK_OUT: path.join(dir, 'researcher.executed.ipynb'),
      NOTEBOOK_N: '120',
      NOTEBOOK_SFT_STEPS: '30',
      // The test runs the compiled code it was built with.
      STAGEWISE_BUILD: 'never',
    };
  });

  after(async () => {
    await t?.close();
    if (dir) removeTempDir(dir);
  });

  it('is committed without outputs', () => {
    const nb = JSON.parse(fs.readFileSync(NOTEBOOK, 'utf8'));
    for (const cell of nb.cells.filter((c: { cell_type: string }) => c.cell_type === 'code')) {
      assert.deepEqual(cell.outputs, [], 'clear the outputs before committing');
      assert.equal(cell.execution_count, null);
    }
  });

  it("the README's command, typed as written, seeds the server and executes the notebook with exit 0", async () => {
    const command = readmeNotebookCommand().replace('sw_...', t.keys.write);
    // The shell sees only the README's line (the key filled in); PYTHONPATH is not given.
    const result = await runCommand(
      '/bin/bash',
      ['-c', command],
      { ...env, PYTHONPATH: '' },
      900_000,
    );
    if (result.code !== 0) console.log(result.output);
    assert.equal(result.code, 0, `npm run notebook failed:\n${result.output}`);
    firstIds = idsIn(result.output);
    assert.deepEqual(Object.keys(firstIds).sort(), [
      'STAGEWISE_CHECKPOINT_ID',
      'STAGEWISE_DATASET_ID',
      'STAGEWISE_POLICY_ID',
    ]);

    const out = env.NOTEBOOK_OUT;
    const artifacts = path.join(repoRoot(), 'test-artifacts');
    fs.mkdirSync(artifacts, { recursive: true });
    fs.copyFileSync(out, path.join(artifacts, 'researcher.executed.ipynb'));

    const executed = JSON.parse(fs.readFileSync(out, 'utf8'));
    const outputs: Output[] = executed.cells.flatMap(
      (c: { outputs?: Output[] }) => c.outputs ?? [],
    );
    const errors = outputs.filter((o) => o.output_type === 'error');
    assert.deepEqual(errors, [], 'no cell raised');
    const stderr = outputs.filter(
      (o) => o.output_type === 'stream' && (o as { name?: string }).name === 'stderr',
    );
    assert.deepEqual(stderr, [], 'no cell wrote to stderr');
    const images = outputs.filter((o) => o.data?.['image/png']);
    assert.ok(images.length >= 2, `the histogram and the loss curve: ${images.length} image(s)`);
    // The DataFrames are shown as tables, the run was followed to its end, on the seeded data.
    const text = JSON.stringify(outputs);
    assert.match(text, /status SUCCEEDED/);
    assert.match(text, /dataset notebook-arith \(120 samples\)/);
    assert.match(text, /120 samples probed/);
    assert.ok(
      outputs.some((o) => o.data?.['text/html']),
      'DataFrames rendered as HTML',
    );
  });

  it('a second call reuses what the first seeded: the same ids, and no new run', async () => {
    assert.ok(firstIds.STAGEWISE_CHECKPOINT_ID, 'the first call ran');
    const countRuns = async () =>
      (await gqlOk<{ runs: { totalCount: number } }>(t, `{ runs { totalCount } }`)).runs.totalCount;
    const before = await countRuns();
    const result = await runCommand(
      '/bin/bash',
      ['-c', `STAGEWISE_API_KEY=${t.keys.write} npm run --silent notebook -- --seed-only`],
      env,
      300_000,
    );
    assert.equal(result.code, 0, result.output);
    assert.deepEqual(idsIn(result.output), firstIds);
    assert.equal(await countRuns(), before, 'no run started');
  });
});
