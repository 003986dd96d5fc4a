/**
 * Seeding helpers for the query-side tests. What the API can create (datasets, samples, traces,
 * checkpoints, routing policies) goes through GraphQL; what it cannot create yet (pass rates,
 * curricula, stage assignments, runs and their events, critiques, manifests) is written with
 * plain SQL on the server's own DataSource.
 */
import assert from 'node:assert/strict';
import { fromGlobalId, toGlobalId } from '../../src/common/ids';
import type { TestServer } from './test-server';

export { toGlobalId };

/** The primary key inside a global id. */
export function pkOf(globalId: string): string {
  return fromGlobalId(globalId).id;
}

/** Runs a GraphQL operation that must succeed and returns its data. */
export async function gqlOk<T = any>(
  t: TestServer,
  query: string,
  variables?: Record<string, unknown>,
  key?: string,
): Promise<T> {
  const res = await t.gql<T>(query, variables, key);
  assert.equal(res.errors, undefined, `unexpected errors: ${JSON.stringify(res.errors)}`);
  return res.data as T;
}

/** The code of the first error of a GraphQL operation that must fail. */
export async function gqlErrorCode(
  t: TestServer,
  query: string,
  variables?: Record<string, unknown>,
): Promise<{ code: string; message: string; extensions: Record<string, unknown> }> {
  const res = await t.gql(query, variables);
  assert.ok(res.errors?.length, `expected an error, got ${JSON.stringify(res.data)}`);
  const [first] = res.errors;
  return { code: first.extensions.code, message: first.message, extensions: first.extensions };
}

/** A row as a global id plus primary key. */
export interface Ref {
  id: string;
  pk: string;
}

const ref = (type: string, pk: string | number): Ref => ({
  id: toGlobalId(type, pk),
  pk: String(pk),
});

export async function createDataset(
  t: TestServer,
  name: string,
  split: 'TRAIN' | 'EVAL' = 'TRAIN',
): Promise<Ref> {
  const data = await gqlOk<{ createDataset: { id: string } }>(
    t,
    `mutation($name: String!, $split: DatasetSplit!) { createDataset(input: { name: $name, split: $split }) { id } }`,
    { name, split },
  );
  return { id: data.createDataset.id, pk: pkOf(data.createDataset.id) };
}

export interface SampleSeed {
  externalId: string;
  problem: string;
  answer?: string;
  domain?: string | null;
  tags?: string[];
  metadata?: Record<string, unknown>;
}

export interface ImportSamplesResult {
  inserted: number;
  existing: number;
  duplicateCount: number;
  duplicates: { line: number; externalId: string; duplicateOfExternalId: string }[];
}

export const IMPORT_SAMPLES = `mutation($input: ImportSamplesInput!) {
  importSamples(input: $input) {
    inserted existing duplicateCount duplicates { line externalId duplicateOfExternalId }
  }
}`;

export async function importSamples(
  t: TestServer,
  datasetId: string,
  samples: SampleSeed[],
): Promise<ImportSamplesResult> {
  const data = await gqlOk<{ importSamples: ImportSamplesResult }>(t, IMPORT_SAMPLES, {
    input: {
      datasetId,
      samples: samples.map((s) => ({ answer: '42', ...s })),
    },
  });
  return data.importSamples;
}

/** The samples of a dataset by externalId, read from the database. */
export async function sampleRefs(t: TestServer, dataset: Ref): Promise<Map<string, Ref>> {
  const rows = await t.server.ds.query<{ id: string; external_id: string }[]>(
    'SELECT id::text AS id, external_id FROM samples WHERE dataset_id = $1 ORDER BY id',
    [dataset.pk],
  );
  return new Map(rows.map((r) => [r.external_id, ref('Sample', r.id)]));
}

export interface TraceSeed {
  sampleExternalId: string;
  kind: 'TEACHER' | 'ROLLOUT' | 'BRIDGED' | 'REPAIR' | 'SOLUTION';
  text: string;
  externalId?: string;
  correct?: boolean | null;
  producer?: string | null;
  finalAnswer?: string | null;
  reward?: number | null;
  tokenCount?: number | null;
  graderVersion?: string | null;
  metadata?: Record<string, unknown>;
}

export const IMPORT_TRACES = `mutation($input: ImportTracesInput!) {
  importTraces(input: $input) { inserted existing }
}`;

export async function importTraces(
  t: TestServer,
  datasetId: string,
  traces: TraceSeed[],
): Promise<{ inserted: number; existing: number }> {
  const data = await gqlOk<{ importTraces: { inserted: number; existing: number } }>(
    t,
    IMPORT_TRACES,
    { input: { datasetId, traces } },
  );
  return data.importTraces;
}

/** The traces of a sample by externalId, read from the database. */
export async function traceRefs(t: TestServer, sample: Ref): Promise<Map<string, Ref>> {
  const rows = await t.server.ds.query<{ id: string; external_id: string }[]>(
    'SELECT id::text AS id, external_id FROM traces WHERE sample_id = $1 ORDER BY id',
    [sample.pk],
  );
  return new Map(rows.map((r) => [r.external_id, ref('Trace', r.id)]));
}

/** Points a trace at the run that wrote it and the trace it came from. */
export async function linkTrace(
  t: TestServer,
  trace: Ref,
  links: { run?: Ref | null; parent?: Ref | null },
): Promise<void> {
  await t.server.ds.query('UPDATE traces SET run_id = $2, parent_trace_id = $3 WHERE id = $1', [
    trace.pk,
    links.run?.pk ?? null,
    links.parent?.pk ?? null,
  ]);
}

export async function createCheckpoint(
  t: TestServer,
  input: { name: string; baseModel?: string; uri?: string; parentId?: string | null },
): Promise<Ref> {
  const data = await gqlOk<{ createCheckpoint: { id: string } }>(
    t,
    `mutation($input: CreateCheckpointInput!) { createCheckpoint(input: $input) { id } }`,
    { input: { baseModel: 'qwen-0.5b', uri: `file:///ckpt/${input.name}`, ...input } },
  );
  return { id: data.createCheckpoint.id, pk: pkOf(data.createCheckpoint.id) };
}

export async function createPolicy(
  t: TestServer,
  input: { name: string; tauLow?: number; tauHigh?: number; k?: number },
): Promise<Ref & { version: number }> {
  const data = await gqlOk<{ createRoutingPolicy: { id: string; version: number } }>(
    t,
    `mutation($input: CreateRoutingPolicyInput!) { createRoutingPolicy(input: $input) { id version } }`,
    { input: { tauLow: 0.1, tauHigh: 0.9, ...input } },
  );
  return {
    ...ref('RoutingPolicy', pkOf(data.createRoutingPolicy.id)),
    version: data.createRoutingPolicy.version,
  };
}

async function insertOne(
  t: TestServer,
  type: string,
  sql: string,
  params: unknown[],
): Promise<Ref> {
  const rows = await t.server.ds.query<
    {
      id: string;
    }[]
  >(`${sql} RETURNING id::text AS id`, params);
  return ref(type, rows[0].id);
}

/** A pass rate row; the Wilson bounds are placeholders around the rate. */
export function insertPassRate(
  t: TestServer,
  p: { sample: Ref; checkpoint: Ref; attempts: number; successes: number },
): Promise<Ref> {
  const rate = p.attempts ? p.successes / p.attempts : 0;
  return insertOne(
    t,
    'PassRate',
    `INSERT INTO pass_rates (sample_id, checkpoint_id, attempts, successes, rate, wilson_low, wilson_high, grader_version)
     VALUES ($1, $2, $3, $4, $5, $6, $7, 'g1')`,
    [
      p.sample.pk,
      p.checkpoint.pk,
      p.attempts,
      p.successes,
      rate,
      Math.max(0, rate - 0.1),
      Math.min(1, rate + 0.1),
    ],
  );
}

export async function insertCurriculum(
  t: TestServer,
  c: {
    name: string;
    baseCheckpoint: Ref;
    policy: Ref;
    rounds?: number;
    status?: 'ACTIVE' | 'PAUSED' | 'SUCCEEDED' | 'CANCELLED';
    datasets?: Ref[];
    evalDatasets?: Ref[];
  },
): Promise<Ref> {
  const curriculum = await insertOne(
    t,
    'Curriculum',
    `INSERT INTO curricula (name, base_checkpoint_id, policy_id, rounds, status) VALUES ($1, $2, $3, $4, $5)`,
    [c.name, c.baseCheckpoint.pk, c.policy.pk, c.rounds ?? 3, c.status ?? 'ACTIVE'],
  );
  const links = [
    ...(c.datasets ?? []).map((d) => [d, 'TRAIN'] as const),
    ...(c.evalDatasets ?? []).map((d) => [d, 'EVAL'] as const),
  ];
  for (const [dataset, role] of links) {
    await t.server.ds.query(
      'INSERT INTO curriculum_datasets (curriculum_id, dataset_id, role) VALUES ($1, $2, $3)',
      [curriculum.pk, dataset.pk, role],
    );
  }
  return curriculum;
}

/** An experiment row as the engine leaves it (no runs: results come from experiment_runs). */
export function insertExperiment(
  t: TestServer,
  e: {
    name: string;
    baseCheckpoint: Ref;
    train: Ref[];
    eval: Ref[];
    arms: string[];
    seeds?: number;
    budget?: number;
    status?: 'ACTIVE' | 'PAUSED' | 'SUCCEEDED' | 'CANCELLED';
    pauseReason?: string;
  },
): Promise<Ref> {
  return insertOne(
    t,
    'Experiment',
    `INSERT INTO experiments (name, base_checkpoint_id, train_dataset_ids, eval_dataset_ids,
       arm_names, seeds, compute_budget, status, pause_reason)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      e.name,
      e.baseCheckpoint.pk,
      e.train.map((d) => d.pk),
      e.eval.map((d) => d.pk),
      e.arms,
      e.seeds ?? 2,
      e.budget ?? 10_000,
      e.status ?? 'ACTIVE',
      e.pauseReason ?? null,
    ],
  );
}

export type Stage = 'SFT' | 'RL' | 'CRITIQUE' | 'REPLAY' | 'DROPPED';

export function insertAssignment(
  t: TestServer,
  a: {
    curriculum: Ref;
    round: number;
    sample: Ref;
    stage: Stage;
    policy: Ref;
    checkpoint: Ref;
    passRate?: number | null;
  },
): Promise<Ref> {
  return insertOne(
    t,
    'StageAssignment',
    `INSERT INTO stage_assignments (curriculum_id, round, sample_id, stage, policy_id, checkpoint_id, pass_rate, attempts, reason)
     VALUES ($1, $2, $3, $4, $5, $6, $7, 8, $8)`,
    [
      a.curriculum.pk,
      a.round,
      a.sample.pk,
      a.stage,
      a.policy.pk,
      a.checkpoint.pk,
      a.passRate ?? null,
      `routed to ${a.stage}`,
    ],
  );
}

export type RunStage = 'PROBE' | 'BRIDGE' | 'SFT' | 'RL' | 'CRITIQUE' | 'EVAL';
export type RunStatus =
  'QUEUED' | 'STARTING' | 'RUNNING' | 'CANCELLING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

export function insertRun(
  t: TestServer,
  r: {
    stage: RunStage;
    status?: RunStatus;
    inputCheckpoint?: Ref | null;
    outputCheckpoint?: Ref | null;
    curriculum?: Ref | null;
    round?: number | null;
    retryOf?: Ref | null;
    manifest?: Ref | null;
  },
): Promise<Ref> {
  return insertOne(
    t,
    'Run',
    // A run stored as ended has its event log closed, as one that ended through the API would.
    `INSERT INTO runs (stage, status, input_checkpoint_id, output_checkpoint_id, curriculum_id, round, retry_of_id, manifest_id, events_closed_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $9::boolean THEN now() END)`,
    [
      r.stage,
      r.status ?? 'QUEUED',
      r.inputCheckpoint?.pk ?? null,
      r.outputCheckpoint?.pk ?? null,
      r.curriculum?.pk ?? null,
      r.round ?? null,
      r.retryOf?.pk ?? null,
      r.manifest?.pk ?? null,
      ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(r.status ?? 'QUEUED'),
    ],
  );
}

/** Run events, inserted in the order given (which need not be seq order). */
export async function insertRunEvents(
  t: TestServer,
  run: Ref,
  events: {
    seq: number;
    type?: 'STATUS' | 'PROGRESS' | 'METRIC' | 'LOG' | 'ARTIFACT';
    payload?: object;
  }[],
): Promise<Ref[]> {
  const refs: Ref[] = [];
  for (const e of events) {
    refs.push(
      await insertOne(
        t,
        'RunEvent',
        'INSERT INTO run_events (run_id, seq, type, payload) VALUES ($1, $2, $3, $4)',
        [run.pk, e.seq, e.type ?? 'LOG', JSON.stringify(e.payload ?? { seq: e.seq })],
      ),
    );
  }
  return refs;
}

export type Verdict = 'WRONG_STEP' | 'WRONG_FINAL_ANSWER' | 'NO_ANSWER' | 'CORRECT';

export function insertCritique(
  t: TestServer,
  c: {
    sample: Ref;
    failedTrace: Ref;
    verdict?: Verdict;
    verified?: boolean;
    run?: Ref | null;
    repairTrace?: Ref | null;
    solutionTrace?: Ref | null;
    diagnosis?: string;
  },
): Promise<Ref> {
  return insertOne(
    t,
    'Critique',
    `INSERT INTO critiques (sample_id, failed_trace_id, diagnosis, verdict, verified, teacher, run_id, repair_trace_id, solution_trace_id)
     VALUES ($1, $2, $3, $4, $5, 'teacher-7b', $6, $7, $8)`,
    [
      c.sample.pk,
      c.failedTrace.pk,
      c.diagnosis ?? 'step 2 drops a sign',
      c.verdict ?? 'WRONG_STEP',
      c.verified ?? false,
      c.run?.pk ?? null,
      c.repairTrace?.pk ?? null,
      c.solutionTrace?.pk ?? null,
    ],
  );
}

export function insertManifest(
  t: TestServer,
  purpose: 'PROBE' | 'BRIDGE' | 'SFT' | 'RL' | 'CRITIQUE' | 'EVAL' = 'SFT',
): Promise<Ref> {
  return insertOne(t, 'Manifest', 'INSERT INTO manifests (purpose) VALUES ($1)', [purpose]);
}

export function insertManifestItem(
  t: TestServer,
  i: { manifest: Ref; ordinal: number; sample: Ref; trace?: Ref | null },
): Promise<Ref> {
  return insertOne(
    t,
    'ManifestItem',
    'INSERT INTO manifest_items (manifest_id, ordinal, sample_id, trace_id) VALUES ($1, $2, $3, $4)',
    [i.manifest.pk, i.ordinal, i.sample.pk, i.trace?.pk ?? null],
  );
}
