import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ANALYZE_AFTER_ROWS } from '../src/common/db/copy';
import { startTestServer, type TestServer } from './helpers/test-server';
import {
  createCheckpoint,
  createDataset,
  gqlOk,
  importSamples,
  importTraces,
  insertRun,
  sampleRefs,
  type Ref,
} from './helpers/seed';
import { ApiKeyScope } from '../src/modules/api-keys/api-key.entity';
import { GRADER_VERSION } from '../src/grading';
import { wilsonInterval } from '../src/modules/mastery/pass-rate.sql';

interface PassRateRow {
  attempts: number;
  successes: number;
  rate: number;
  wilson_low: number;
  wilson_high: number;
  grader_version: string | null;
}

const rollouts = (sample: string, producer: string, texts: string[], tag = '') =>
  texts.map((text, i) => ({
    sampleExternalId: sample,
    kind: 'ROLLOUT' as const,
    producer,
    text,
    externalId: `${producer}-${sample}-${tag}${i}`,
  }));

describe('mastery: grading on ingest and pass rates', () => {
  let t: TestServer;
  let dataset: Ref;
  let samples: Map<string, Ref>;
  let checkpoint: Ref;

  const passRate = async (sample: Ref, ckpt: Ref = checkpoint) =>
    (
      await t.server.ds.query<PassRateRow[]>(
        `SELECT attempts, successes, rate, wilson_low, wilson_high, grader_version
         FROM pass_rates WHERE sample_id = $1 AND checkpoint_id = $2`,
        [sample.pk, ckpt.pk],
      )
    )[0];

  before(async () => {
    t = await startTestServer();
    dataset = await createDataset(t, 'mastery');
    await importSamples(t, dataset.id, [
      { externalId: 'q1', problem: 'What is 3 + 4?', answer: '7' },
      { externalId: 'q2', problem: 'What is 5 - 2?', answer: '3' },
      { externalId: 'q3', problem: 'What is 1 + 1?', answer: '2' },
      { externalId: 'q4', problem: 'What is 9 - 9?', answer: '0' },
    ]);
    samples = await sampleRefs(t, dataset);
    checkpoint = await createCheckpoint(t, { name: 'ck-a', baseModel: 'tiny-gpt' });
  });
  after(() => t?.close());

  it('grades imported traces with the API grader and records its version', async () => {
    await importTraces(t, dataset.id, [
      { sampleExternalId: 'q2', kind: 'TEACHER', text: '5-2=3, so the answer is 3', producer: 'x' },
      { sampleExternalId: 'q2', kind: 'TEACHER', text: 'I think \\boxed{4}', producer: 'y' },
    ]);
    const rows = await t.server.ds.query<
      { producer: string; correct: boolean; final_answer: string; grader_version: string }[]
    >(
      `SELECT producer, correct, final_answer, grader_version FROM traces
       WHERE sample_id = $1 AND kind = 'TEACHER' ORDER BY producer`,
      [samples.get('q2')!.pk],
    );
    assert.deepEqual(
      rows.map((r) => [r.producer, r.correct, r.final_answer, r.grader_version]),
      [
        ['x', true, '3', GRADER_VERSION],
        ['y', false, '4', GRADER_VERSION],
      ],
    );
  });

  it('keeps a grade the import brings with it', async () => {
    await importTraces(t, dataset.id, [
      {
        sampleExternalId: 'q3',
        kind: 'TEACHER',
        text: 'Answer: 9',
        correct: true,
        graderVersion: 'their-grader/2',
      },
    ]);
    const [kept] = await t.server.ds.query<{ correct: boolean; grader_version: string }[]>(
      `SELECT correct, grader_version FROM traces WHERE sample_id = $1 AND text = 'Answer: 9'`,
      [samples.get('q3')!.pk],
    );
    assert.deepEqual([kept.correct, kept.grader_version], [true, 'their-grader/2']);
  });

  it('turns imported rollouts of a checkpoint into pass rates with their Wilson interval', async () => {
    const right = Array.from({ length: 5 }, (_, i) => `Try ${i}: 3+4=7. Answer: 7`);
    const wrong = ['3+4=8. Answer: 8', 'Answer: 6', 'no idea'];
    await importTraces(t, dataset.id, rollouts('q1', 'ck-a', [...right, ...wrong]));
    const pr = await passRate(samples.get('q1')!);
    const w = wilsonInterval(5, 8);
    assert.deepEqual([pr.attempts, pr.successes, pr.rate], [8, 5, 0.625]);
    assert.ok(Math.abs(pr.wilson_low - w.low) < 1e-12 && Math.abs(pr.wilson_high - w.high) < 1e-12);
    // Known values of the Wilson score interval for 5/8 at 95%.
    assert.ok(
      Math.abs(w.low - 0.3057) < 1e-4 && Math.abs(w.high - 0.8632) < 1e-4,
      `${w.low} ${w.high}`,
    );
    assert.equal(pr.grader_version, GRADER_VERSION);
  });

  it('adds new attempts to a pass rate and ignores a re-import', async () => {
    const more = rollouts('q1', 'ck-a', ['Answer: 7', 'Answer: 7'], 'more');
    await importTraces(t, dataset.id, more);
    await importTraces(t, dataset.id, more);
    const pr = await passRate(samples.get('q1')!);
    assert.deepEqual([pr.attempts, pr.successes], [10, 7]);
    const w = wilsonInterval(7, 10);
    assert.ok(Math.abs(pr.wilson_low - w.low) < 1e-12);
  });

  it('gives no pass rate to rollouts whose producer is not a checkpoint', async () => {
    await importTraces(t, dataset.id, rollouts('q4', 'somebody', ['Answer: 0']));
    const [{ n }] = await t.server.ds.query<{ n: number }[]>(
      'SELECT count(*)::int AS n FROM pass_rates WHERE sample_id = $1',
      [samples.get('q4')!.pk],
    );
    assert.equal(n, 0);
  });

  it('updates pass rates set-based: the statements of an import do not grow with its rows', async () => {
    const ckB = await createCheckpoint(t, { name: 'ck-b', baseModel: 'tiny-gpt' });
    // Statements of the import itself (the key's throttled lastUsedAt write is not one).
    const statements = async (n: number, tag: string) => {
      const seen: string[] = [];
      t.counter.onQuery = (query) => {
        if (!/api_keys/.test(query)) seen.push(query);
      };
      try {
        await importTraces(
          t,
          dataset.id,
          ['q1', 'q2', 'q3', 'q4'].flatMap((q) =>
            rollouts(
              q,
              'ck-b',
              Array.from({ length: n }, (_, i) => `Answer: ${i % 3}`),
              tag,
            ),
          ),
        );
      } finally {
        t.counter.onQuery = undefined;
      }
      return seen.length;
    };
    // Both sizes at or above ANALYZE_AFTER_ROWS: from there an import refreshes the planner's
    // statistics with one ANALYZE, a fixed statement that does not grow with the rows either.
    const perSample = ANALYZE_AFTER_ROWS / 4;
    const few = await statements(perSample, 'few');
    const many = await statements(200, 'many');
    assert.equal(many, few, `${few} statements for ${4 * perSample} rollouts, ${many} for 800`);
    const pr = await passRate(samples.get('q3')!, ckB);
    assert.equal(pr.attempts, perSample + 200);
  });

  it('counts PROBE rollouts posted by the runner against the run’s input checkpoint', async () => {
    const ck = await createCheckpoint(t, { name: 'ck-probe', baseModel: 'tiny-gpt' });
    const run = await insertRun(t, {
      stage: 'PROBE',
      status: 'RUNNING',
      inputCheckpoint: ck,
    });
    const rl = await insertRun(t, {
      stage: 'RL',
      status: 'RUNNING',
      inputCheckpoint: ck,
    });
    const keyFor = async (r: Ref) =>
      (
        await t.server.services.apiKeys.create({
          name: `runner-${r.pk}`,
          scopes: [ApiKeyScope.RUNNER],
          runId: Number(r.pk),
        })
      ).key;
    const post = async (r: Ref, body: object) => {
      const res = await fetch(`${t.url}/v1/runs/${r.id}/rollouts`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await keyFor(r)}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    const q2 = samples.get('q2')!;
    // The runner claims every one correct; the API's grader decides.
    const body = {
      rollouts: ['Answer: 3', 'Answer: 3', 'Answer: 4', '\\boxed{3}'].map((text, j) => ({
        sampleId: q2.id,
        key: `o1-k${j}`,
        text,
        correct: true,
        finalAnswer: '3',
        graderVersion: 'runner',
      })),
    };
    assert.deepEqual((await post(run, body)).body, { inserted: 4, existing: 0 });
    assert.deepEqual((await post(run, body)).body, { inserted: 0, existing: 4 });
    const pr = await passRate(q2, ck);
    assert.deepEqual([pr.attempts, pr.successes], [4, 3]);
    // RL rollouts come from a moving policy: stored and graded, not counted as mastery.
    await post(rl, { rollouts: [{ sampleId: q2.id, key: 'rl-1', text: 'Answer: 3' }] });
    assert.equal((await passRate(q2, ck)).attempts, 4);
    const bad = await post(run, { rollouts: [{ sampleId: ck.id, key: 'x', text: 'Answer: 3' }] });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'BAD_USER_INPUT');
  });

  it('answers a pass-rate histogram, the probed count, and samples by pass-rate range', async () => {
    const data = await gqlOk(
      t,
      `query($c: ID!, $d: ID!) {
        passRateHistogram(checkpointId: $c, datasetId: $d, bins: 4) {
          probedSamples attempts meanRate never always bins { lo hi count }
        }
        samples(filter: { passRate: { checkpointId: $c, min: 0.5, max: 1 } }) { nodes { externalId } }
      }`,
      { c: checkpoint.id, d: dataset.id },
    );
    const h = data.passRateHistogram;
    assert.equal(h.probedSamples, 1);
    assert.equal(h.attempts, 10);
    assert.equal(h.meanRate, 0.7);
    assert.deepEqual(
      h.bins.map((b: { count: number }) => b.count),
      [0, 0, 1, 0],
    );
    assert.deepEqual(data.samples.nodes, [{ externalId: 'q1' }]);
    const bad = await t.gql(
      `query($c: ID!) { passRateHistogram(checkpointId: $c, bins: 0) { probedSamples } }`,
      {
        c: checkpoint.id,
      },
    );
    assert.equal(bad.errors?.[0].extensions.code, 'BAD_USER_INPUT');
  });
});
