/**
 * What examples/researcher.ipynb looks at, made on a running server through its API (for
 * `npm run notebook`, scripts/notebook.sh): the built-in task as a dataset, a checkpoint that
 * probed it (an SFT run of the tiny model, then a PROBE run of its checkpoint), and a routing
 * policy. Idempotent: what exists is reused (the same task seed imports nothing new, a checkpoint
 * that already probed the dataset is taken, the policy is found by name), so a second call starts
 * no run.
 *
 *   node dist/scripts/notebook-seed.js IDS_FILE
 *
 * Reads STAGEWISE_URL and STAGEWISE_API_KEY (WRITE) like the CLI; writes the notebook's variables
 * to IDS_FILE as shell assignments (STAGEWISE_DATASET_ID='...'). Knobs: NOTEBOOK_DATASET
 * (notebook-arith), NOTEBOOK_N (problems, 200), NOTEBOOK_SFT_STEPS (200).
 */
import fs from 'node:fs';
import { ApiClient, ApiError } from '../src/cli/api-client';
import { taskCommand } from '../src/cli/commands/task';

const DATASET = process.env.NOTEBOOK_DATASET || 'notebook-arith';
const N = process.env.NOTEBOOK_N || '200';
const SFT_STEPS = Number(process.env.NOTEBOOK_SFT_STEPS || 200);
const POLICY = 'notebook';
const TERMINAL = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

interface RunState {
  id: string;
  status: string;
  error: string | null;
  outputCheckpoint: { id: string; name: string } | null;
}

const say = (line: string) => console.log(`notebook: ${line}`);

/** The dataset, loaded with the built-in task (seed 0: a second load imports nothing). */
async function seedDataset(api: ApiClient): Promise<string> {
  const code = await taskCommand(api, [
    'load',
    ...['--dataset', DATASET, '--n', N, '--seed', '0', '--split', 'train'],
  ]);
  if (code !== 0) throw new Error(`stagewise task load --dataset ${DATASET} exited ${code}`);
  const data = await api.graphql<{ dataset: { id: string } }>(
    `query($name: String!) { dataset(name: $name) { id } }`,
    { name: DATASET },
  );
  return data.dataset.id;
}

/** The newest checkpoint with pass rates on the dataset, if one exists. */
async function probedCheckpoint(api: ApiClient, datasetId: string): Promise<string | null> {
  const { checkpoints } = await api.graphql<{ checkpoints: { nodes: { id: string }[] } }>(
    `{ checkpoints(first: 500) { nodes { id } } }`,
  );
  for (const { id } of [...checkpoints.nodes].reverse()) {
    const { passRateHistogram } = await api.graphql<{
      passRateHistogram: { probedSamples: number };
    }>(
      `query($c: ID!, $d: ID!) { passRateHistogram(checkpointId: $c, datasetId: $d) { probedSamples } }`,
      { c: id, d: datasetId },
    );
    if (passRateHistogram.probedSamples > 0) return id;
  }
  return null;
}

/** Starts a run and polls it to its end, printing each status it passes through. */
async function runToEnd(api: ApiClient, input: Record<string, unknown>): Promise<RunState> {
  const fields = `id status error outputCheckpoint { id name }`;
  const { startRun } = await api.graphql<{ startRun: RunState }>(
    `mutation($input: StartRunInput!) { startRun(input: $input) { ${fields} } }`,
    { input },
  );
  let run = startRun;
  let shown = '';
  for (;;) {
    if (run.status !== shown) say(`${String(input.stage)} run ${run.id}: ${(shown = run.status)}`);
    if (TERMINAL.includes(run.status)) break;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    run = (
      await api.graphql<{ run: RunState }>(`query($id: ID!) { run(id: $id) { ${fields} } }`, {
        id: run.id,
      })
    ).run;
  }
  if (run.status !== 'SUCCEEDED') {
    throw new Error(`${String(input.stage)} run ${run.id} ${run.status}: ${run.error ?? ''}`);
  }
  return run;
}

/** A checkpoint that probed the dataset: reused, or trained (SFT) and probed (PROBE, k = 4). */
async function seedCheckpoint(api: ApiClient, datasetId: string): Promise<string> {
  const existing = await probedCheckpoint(api, datasetId);
  if (existing) {
    say(`checkpoint ${existing} has probed ${DATASET}: reused`);
    return existing;
  }
  say(
    `training the tiny model on ${DATASET}'s teacher traces (SFT, ${SFT_STEPS} steps), then probing it`,
  );
  const sft = await runToEnd(api, {
    stage: 'SFT',
    config: { steps: SFT_STEPS, batch_size: 16, log_every: 10 },
    selection: {
      filter: { datasetIds: [datasetId] },
      traceKinds: ['TEACHER'],
      traceProducer: 'builtin-teacher-explicit',
    },
  });
  const checkpoint = sft.outputCheckpoint!.id;
  await runToEnd(api, {
    stage: 'PROBE',
    inputCheckpointId: checkpoint,
    config: { k: 4, max_new_tokens: 32 },
    selection: { filter: { datasetIds: [datasetId] } },
  });
  return checkpoint;
}

/** The routing policy named "notebook" (made once: k 4, minAttempts 4, like the PROBE above). */
async function seedPolicy(api: ApiClient): Promise<string> {
  const { routingPolicies } = await api.graphql<{ routingPolicies: { nodes: { id: string }[] } }>(
    `query($name: String!) { routingPolicies(name: $name, first: 500) { nodes { id } } }`,
    { name: POLICY },
  );
  const newest = routingPolicies.nodes.at(-1);
  if (newest) return newest.id;
  const { createRoutingPolicy } = await api.graphql<{ createRoutingPolicy: { id: string } }>(
    `mutation { createRoutingPolicy(input: { name: "${POLICY}", k: 4, minAttempts: 4 }) { id } }`,
  );
  say(`routing policy ${POLICY} created`);
  return createRoutingPolicy.id;
}

async function main(): Promise<number> {
  const idsFile = process.argv[2];
  if (!idsFile) {
    console.error('usage: node dist/scripts/notebook-seed.js IDS_FILE');
    return 3;
  }
  const api = ApiClient.fromEnv();
  try {
    const dataset = await seedDataset(api);
    const checkpoint = await seedCheckpoint(api, dataset);
    const policy = await seedPolicy(api);
    const ids = {
      STAGEWISE_DATASET_ID: dataset,
      STAGEWISE_CHECKPOINT_ID: checkpoint,
      STAGEWISE_POLICY_ID: policy,
    };
    // Global ids are base64url: quoting them is only belt and braces for the shell.
    const lines = Object.entries(ids).map(([k, v]) => `${k}='${v}'`);
    fs.writeFileSync(idsFile, lines.join('\n') + '\n');
    for (const line of lines) say(line);
    return 0;
  } catch (err) {
    console.error(`notebook: ${err instanceof Error ? err.message : String(err)}`);
    return err instanceof ApiError && err.isAccessProblem ? 3 : 1;
  } finally {
    await api.close();
  }
}

void main().then((code) => (process.exitCode = code));
