import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/test-server';
import {
  createDataset,
  importSamples,
  importTraces,
  insertRun,
  sampleRefs,
  traceRefs,
  type Ref,
} from './helpers/seed';
import { ApiKeyScope } from '../src/modules/api-keys/api-key.entity';

describe('what runners write besides events: POST /traces, /critiques and /checkpoints', () => {
  let t: TestServer;
  let samples: Map<string, Ref>;
  let teacher: Ref;
  let failed: Ref;
  let otherSampleTrace: Ref;

  const post = async (run: Ref, suffix: string, body: object) => {
    const key = (
      await t.server.services.apiKeys.create({
        name: `runner-${run.pk}-${suffix}-${Math.random()}`,
        scopes: [ApiKeyScope.RUNNER],
        runId: Number(run.pk),
      })
    ).key;
    const res = await fetch(`${t.url}/v1/runs/${run.id}/${suffix}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  before(async () => {
    t = await startTestServer({ CURRICULUM_TICK_MS: '0' });
    const ds = await createDataset(t, 'outputs');
    await importSamples(t, ds.id, [
      { externalId: 'a', problem: 'What is 12 + 7 - 5?', answer: '14' },
      { externalId: 'b', problem: 'What is 3 + 3?', answer: '6' },
    ]);
    samples = await sampleRefs(t, ds);
    await importTraces(t, ds.id, [
      { sampleExternalId: 'a', kind: 'TEACHER', text: '12+7-5=14. Answer: 14', externalId: 'raw' },
      {
        sampleExternalId: 'a',
        kind: 'ROLLOUT',
        text: '12+7=18. 18-5=13. Answer: 13',
        externalId: 'fail',
      },
      { sampleExternalId: 'b', kind: 'TEACHER', text: '3+3=6. Answer: 6', externalId: 'tb' },
    ]);
    const aTraces = await traceRefs(t, samples.get('a')!);
    teacher = aTraces.get('raw')!;
    failed = aTraces.get('fail')!;
    otherSampleTrace = (await traceRefs(t, samples.get('b')!)).get('tb')!;
  });
  after(() => t?.close());

  it('stores bridged traces graded by the API; wrong rewrites are kept, flagged and counted', async () => {
    const run = await insertRun(t, { stage: 'BRIDGE', status: 'RUNNING' });
    const body = {
      traces: [
        {
          sampleId: samples.get('a')!.id,
          key: 'bridge-o1',
          kind: 'BRIDGED',
          parentTraceId: teacher.id,
          text: '12+7=19. 19-5=14. Answer: 14',
          producer: 'builtin-rewrite',
        },
        {
          sampleId: samples.get('b')!.id,
          key: 'bridge-o2',
          kind: 'BRIDGED',
          parentTraceId: otherSampleTrace.id,
          text: '3+3=7. Answer: 7',
          producer: 'builtin-rewrite',
        },
      ],
    };
    const first = await post(run, 'traces', body);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(first.body, { inserted: 2, existing: 0, verified: 1, rejected: 1 });
    assert.deepEqual((await post(run, 'traces', body)).body, {
      inserted: 0,
      existing: 2,
      verified: 1,
      rejected: 1,
    });
    const rows = await t.server.ds.query<
      { correct: boolean; parent_trace_id: string; run_id: number; kind: string }[]
    >(
      `SELECT correct, parent_trace_id::text, run_id, kind::text FROM traces WHERE run_id = $1 ORDER BY id`,
      [run.pk],
    );
    assert.deepEqual(
      rows.map((r) => [r.kind, r.correct, r.parent_trace_id]),
      [
        ['BRIDGED', true, teacher.pk],
        ['BRIDGED', false, otherSampleTrace.pk],
      ],
    );
  });

  it('refuses a parent trace of another sample, writing nothing', async () => {
    const run = await insertRun(t, { stage: 'BRIDGE', status: 'RUNNING' });
    const res = await post(run, 'traces', {
      traces: [
        {
          sampleId: samples.get('a')!.id,
          key: 'k1',
          kind: 'BRIDGED',
          parentTraceId: teacher.id,
          text: 'Answer: 14',
          producer: 'x',
        },
        {
          sampleId: samples.get('a')!.id,
          key: 'k2',
          kind: 'BRIDGED',
          parentTraceId: otherSampleTrace.id,
          text: 'Answer: 14',
          producer: 'x',
        },
      ],
    });
    assert.equal(res.status, 400);
    assert.match(res.body.error.message, /traces\.1\.parentTraceId/);
    const [{ n }] = await t.server.ds.query<{ n: number }[]>(
      'SELECT count(*)::int AS n FROM traces WHERE run_id = $1',
      [run.pk],
    );
    assert.equal(n, 0);
  });

  it('stores critiques with graded repair and solution traces; verified only when both are right', async () => {
    const run = await insertRun(t, { stage: 'CRITIQUE', status: 'RUNNING' });
    const critique = (key: string, repair: string | null, solution: string) => ({
      sampleId: samples.get('a')!.id,
      key,
      failedTraceId: failed.id,
      diagnosis: 'Step 1 says 12+7=18; it is 19.',
      verdict: 'WRONG_STEP',
      firstWrongStep: 1,
      repair,
      solution,
      teacher: 'builtin-critic',
    });
    const res = await post(run, 'critiques', {
      critiques: [critique('c1', '12+7=19. 19-5=14. Answer: 14', '12+7=19. 19-5=14. Answer: 14')],
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { inserted: 1, existing: 0, verified: 1 });
    // The same failed rollout critiqued again by this run: stored once.
    const again = await post(run, 'critiques', {
      critiques: [critique('c1', '12+7=19. 19-5=14. Answer: 14', '12+7=19. 19-5=14. Answer: 14')],
    });
    assert.deepEqual(again.body, { inserted: 0, existing: 1, verified: 1 });
    const run2 = await insertRun(t, { stage: 'CRITIQUE', status: 'RUNNING' });
    const unverified = await post(run2, 'critiques', {
      critiques: [critique('c1', '12+7=19. 19-5=15. Answer: 15', '12+7=19. 19-5=14. Answer: 14')],
    });
    assert.deepEqual(unverified.body, { inserted: 1, existing: 0, verified: 0 });
    const rows = await t.server.ds.query<
      {
        verified: boolean;
        verdict: string;
        first_wrong_step: number;
        repair_ok: boolean;
        solution_ok: boolean;
        parent: string;
      }[]
    >(
      `SELECT c.verified, c.verdict::text, c.first_wrong_step, r.correct AS repair_ok, s.correct AS solution_ok,
              r.parent_trace_id::text AS parent
       FROM critiques c JOIN traces r ON r.id = c.repair_trace_id JOIN traces s ON s.id = c.solution_trace_id
       ORDER BY c.id`,
    );
    assert.deepEqual(
      rows.map((r) => [
        r.verified,
        r.verdict,
        r.first_wrong_step,
        r.repair_ok,
        r.solution_ok,
        r.parent,
      ]),
      [
        [true, 'WRONG_STEP', 1, true, true, failed.pk],
        [false, 'WRONG_STEP', 1, false, true, failed.pk],
      ],
    );
    const wrong = await post(run2, 'critiques', {
      critiques: [{ ...critique('c9', 'x', 'y'), verdict: 'MAYBE' }],
    });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.error.code, 'BAD_USER_INPUT');
  });

  it('registers a checkpoint with the run: its output and ARTIFACT event commit with it; a resend answers the same one', async () => {
    const run = await insertRun(t, { stage: 'SFT', status: 'RUNNING' });
    const body = { name: `sft-${run.id}-final`, uri: 'file:///ckpt/final', baseModel: 'tiny-gpt' };
    const first = await post(run, 'checkpoints', body);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.name, body.name);
    const again = await post(run, 'checkpoints', body);
    assert.deepEqual(again.body, first.body, 'a resend registers nothing new');
    const [stored] = await t.server.ds.query<
      { id: string; produced_by_run_id: number; output_checkpoint_id: string }[]
    >(
      `SELECT c.id::text, c.produced_by_run_id, r.output_checkpoint_id::text
       FROM checkpoints c JOIN runs r ON r.id = c.produced_by_run_id WHERE c.name = $1`,
      [body.name],
    );
    assert.equal(stored.produced_by_run_id, Number(run.pk));
    assert.equal(stored.output_checkpoint_id, stored.id, "the run's output is the checkpoint");
    const artifacts = await t.server.ds.query<{ payload: { checkpointId: string } }[]>(
      `SELECT payload FROM run_events WHERE run_id = $1 AND type = 'ARTIFACT' ORDER BY seq`,
      [run.pk],
    );
    assert.deepEqual(
      artifacts.map((a) => a.payload.checkpointId),
      [first.body.id, first.body.id],
    );
  });

  it('refuses a checkpoint name another run registered as CONFLICT, changing neither run', async () => {
    const owner = await insertRun(t, { stage: 'SFT', status: 'RUNNING' });
    const other = await insertRun(t, { stage: 'SFT', status: 'RUNNING' });
    const body = { name: `taken-${owner.id}`, uri: 'file:///ckpt/a', baseModel: 'tiny-gpt' };
    assert.equal((await post(owner, 'checkpoints', body)).status, 200);
    const refused = await post(other, 'checkpoints', body);
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'CONFLICT');
    const [row] = await t.server.ds.query<{ output_checkpoint_id: string | null; n: number }[]>(
      `SELECT r.output_checkpoint_id::text,
              (SELECT count(*)::int FROM run_events e WHERE e.run_id = r.id) AS n
       FROM runs r WHERE r.id = $1`,
      [other.pk],
    );
    assert.deepEqual(row, { output_checkpoint_id: null, n: 0 });
  });
});
