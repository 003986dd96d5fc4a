/**
 * The researcher's notebook (examples/researcher.ipynb), executed headless with Debian's
 * jupyter-nbconvert against a live server: this file seeds what the notebook looks at (the
 * built-in task, an SFT checkpoint that probed it, a routing policy), runs every cell, and keeps
 * the executed notebook in test-artifacts/.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from './helpers/test-server';
import { gqlOk } from './helpers/seed';
import { loadTask, runEnv, sftInput, startRun, waitForStatus } from './helpers/runs';
import { repoRoot } from './helpers/processes';
import { CLIENT_DIR, runCommand } from './helpers/python';

const NOTEBOOK = path.join(repoRoot(), 'examples', 'researcher.ipynb');

interface Output {
  output_type: string;
  ename?: string;
  evalue?: string;
  traceback?: string[];
  data?: Record<string, unknown>;
}

describe('the researcher notebook', () => {
  let t: TestServer;
  const env: Record<string, string> = {};

  before(async () => {
    t = await startTestServer(runEnv());
    const dataset = await loadTask(t, 'notebook-task', 120);
    const sft = await waitForStatus(t, (await startRun(t, sftInput())).id);
    assert.equal(sft.status, 'SUCCEEDED', sft.error ?? '');
    // Pass rates of that checkpoint on every sample: a real PROBE run, k = 4.
    const probe = await waitForStatus(
      t,
      (
        await startRun(t, {
          stage: 'PROBE',
          inputCheckpointId: sft.outputCheckpoint!.id,
          config: { k: 4, max_new_tokens: 32, num_threads: 1 },
          selection: { filter: { datasetIds: [dataset.id] } },
        })
      ).id,
    );
    assert.equal(probe.status, 'SUCCEEDED', probe.error ?? '');
    const policy = await gqlOk<{ createRoutingPolicy: { id: string } }>(
      t,
      `mutation { createRoutingPolicy(input: { name: "notebook", k: 4, minAttempts: 4 }) { id } }`,
    );
    Object.assign(env, {
      STAGEWISE_URL: t.url,
      STAGEWISE_API_KEY: t.keys.write,
      STAGEWISE_DATASET_ID: dataset.id,
      STAGEWISE_CHECKPOINT_ID: sft.outputCheckpoint!.id,
      STAGEWISE_POLICY_ID: policy.createRoutingPolicy.id,
    });
  });

  after(() => t?.close());

  it('is committed without outputs', () => {
    const nb = JSON.parse(fs.readFileSync(NOTEBOOK, 'utf8'));
    for (const cell of nb.cells.filter((c: { cell_type: string }) => c.cell_type === 'code')) {
      assert.deepEqual(cell.outputs, [], 'clear the outputs before committing');
      assert.equal(cell.execution_count, null);
    }
  });

  it('runs headless from top to bottom without an error and draws its plots', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stagewise-notebook-'));
    const out = path.join(dir, 'researcher.executed.ipynb');
    const result = await runCommand(
      '/usr/bin/jupyter',
      [
        'nbconvert',
        '--to',
        'notebook',
        '--execute',
        '--ExecutePreprocessor.timeout=300',
        '--ExecutePreprocessor.kernel_name=python3',
        '--output',
        out,
        NOTEBOOK,
      ],
      { ...env, PYTHONPATH: CLIENT_DIR, MPLBACKEND: 'module://matplotlib_inline.backend_inline' },
      480_000,
    );
    if (result.code !== 0) console.log(result.output);
    assert.equal(result.code, 0, `nbconvert failed:\n${result.output}`);

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
    // The DataFrames are shown as tables, the run was followed to its end.
    const text = JSON.stringify(outputs);
    assert.match(text, /status SUCCEEDED/);
    assert.ok(
      outputs.some((o) => o.data?.['text/html']),
      'DataFrames rendered as HTML',
    );
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
