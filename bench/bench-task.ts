import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ApiClient } from '../src/cli/api-client';
import { startTestServer, type TestServer } from '../tests/helpers/test-server';
import { PYTHON, RUNNER_DIR } from '../tests/helpers/runs';

export interface BenchTask {
  t: TestServer;
  api: ApiClient;
  /** The global id of the dataset "bench" holding the built-in task. */
  datasetId: string;
  close: () => Promise<void>;
}

/**
 * A server that runs the real runner on the local launcher, with `n` problems of the built-in
 * task (and their teacher traces) in a dataset named "bench".
 */
export async function benchTask(n: number): Promise<BenchTask> {
  const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stagewise-bench-runs-'));
  const taskDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stagewise-bench-task-'));
  const t = await startTestServer({ RUNS_DIR: runsDir, RUNNER_DIR, RUNNER_PYTHON: PYTHON });
  const close = async () => {
    await t.close();
    fs.rmSync(runsDir, { recursive: true, force: true });
    fs.rmSync(taskDir, { recursive: true, force: true });
  };
  try {
    const api = new ApiClient({ url: t.url, apiKey: t.keys.write });
    const samples = path.join(taskDir, 'samples.ndjson');
    const traces = path.join(taskDir, 'traces.ndjson');
    execFileSync(
      PYTHON,
      [
        ...['-m', 'gpu_runner.tasks.arithmetic', '--n', String(n), '--seed', '0'],
        ...['--samples', samples, '--traces', traces],
      ],
      { cwd: RUNNER_DIR, stdio: 'ignore' },
    );
    const { createDataset } = await api.graphql<{ createDataset: { id: string } }>(
      `mutation { createDataset(input: { name: "bench" }) { id } }`,
    );
    await api.postNdjsonFile('/v1/datasets/bench/samples', samples);
    await api.postNdjsonFile('/v1/datasets/bench/traces', traces);
    return { t, api, datasetId: createDataset.id, close };
  } catch (err) {
    await close();
    throw err;
  }
}
