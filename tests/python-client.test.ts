/**
 * The Python client (clients/python) against a real server: this file starts the server, seeds
 * a dataset with the built-in task and a finished SFT run (its manifest and checkpoint), then
 * runs the client's pytest suite with Debian's python3, which starts and watches runs of its own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import path from 'node:path';
import { startTestServer, type TestServer } from './helpers/test-server';
import { loadTask, runEnv, sftInput, startRun, waitForStatus, PYTHON } from './helpers/runs';
import { CLIENT_DIR, runCommand } from './helpers/python';
import { tempDir, removeTempDir } from './helpers/temp';

describe('the Python client', () => {
  let t: TestServer;
  const env: Record<string, string> = {};

  before(async () => {
    t = await startTestServer(runEnv());
    const dataset = await loadTask(t, 'py-task', 200);
    const queued = await startRun(t, sftInput());
    const sft = await waitForStatus(t, queued.id);
    assert.equal(sft.status, 'SUCCEEDED', sft.error ?? '');
    Object.assign(env, {
      STAGEWISE_URL: t.url,
      STAGEWISE_API_KEY: t.keys.write,
      STAGEWISE_READ_KEY: t.keys.read,
      STAGEWISE_DATASET: 'py-task',
      STAGEWISE_DATASET_ID: dataset.id,
      STAGEWISE_MANIFEST_ID: sft.manifest!.id,
      STAGEWISE_CHECKPOINT_ID: sft.outputCheckpoint!.id,
    });
  });

  const basetemp = path.join(tempDir('stagewise-client-pytest-'), 'pytest');
  after(async () => {
    await t?.close();
    removeTempDir(path.dirname(basetemp));
  });

  it('passes its pytest suite against this server (query, errors, iterators, bulk, exports, watch_run)', async () => {
    const result = await runCommand(
      PYTHON,
      // pytest's tmp_path under a folder this file removes (pytest keeps its last runs otherwise).
      [
        '-m',
        'pytest',
        '-q',
        '-p',
        'no:cacheprovider',
        `--basetemp=${basetemp}`,
        `${CLIENT_DIR}/tests`,
      ],
      { ...env, PYTHONPATH: CLIENT_DIR, OPENBLAS_NUM_THREADS: '1' },
      480_000,
    );
    if (result.code !== 0) console.log(result.output);
    assert.equal(result.code, 0, `pytest failed:\n${result.output}`);
    const summary = result.output.trim().split('\n').at(-1) ?? '';
    assert.match(summary, /^\d+ passed/, summary);
    assert.doesNotMatch(summary, /skipped|failed|error/, summary);
    console.log(`# pytest: ${summary}`);
  });
});
