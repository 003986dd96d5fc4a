import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/test-server';
import { fromGlobalId } from '../src/common/ids';
import { RoutingPolicy } from '../src/modules/routing/routing-policy.entity';
import {
  createCheckpoint,
  createDataset,
  gqlOk,
  importSamples,
  sampleRefs,
  toGlobalId,
  type Ref,
} from './helpers/seed';

/** Sets the pass rate of a sample under a checkpoint directly (the routing input). */
async function setPassRate(
  t: TestServer,
  sample: Ref,
  ckpt: Ref,
  successes: number,
  attempts: number,
) {
  await t.server.ds.query(
    `INSERT INTO pass_rates (sample_id, checkpoint_id, attempts, successes, rate, wilson_low, wilson_high)
     VALUES ($1, $2, $3::int, $4::int, $4::float8 / $3::int, 0, 1)
     ON CONFLICT (sample_id, checkpoint_id) DO UPDATE SET attempts = $3::int, successes = $4::int, rate = $4::float8 / $3::int`,
    [sample.pk, ckpt.pk, attempts, successes],
  );
}

const PREVIEW = `query($p: ID!, $c: ID!, $d: [ID!]!, $cur: ID, $r: Int, $from: String!, $to: String!) {
  previewRouting(policyId: $p, checkpointId: $c, datasetIds: $d, curriculumId: $cur, round: $r) {
    counts { stage count } unrouted total moved moves { from to count }
    samples(from: $from, to: $to, first: 2) { nodes { externalId } pageInfo { hasNextPage endCursor } }
  }
}`;

const APPLY = `mutation($cur: ID!, $r: Int!, $c: ID!) {
  applyRouting(curriculumId: $cur, round: $r, checkpointId: $c) {
    counts { stage count } unrouted inserted updated unchanged removed
  }
}`;

const countsOf = (counts: { stage: string; count: number }[]) =>
  Object.fromEntries(counts.filter((c) => c.count > 0).map((c) => [c.stage, c.count]));

describe('routing: preview, apply, explain', () => {
  let t: TestServer;
  let dataset: Ref;
  let samples: Map<string, Ref>;
  let ck: Ref;
  let policy: { id: string };
  let curriculum: { id: string };

  before(async () => {
    t = await startTestServer({ CURRICULUM_TICK_MS: '0' });
    dataset = await createDataset(t, 'route');
    await importSamples(
      t,
      dataset.id,
      Array.from({ length: 10 }, (_, i) => ({ externalId: `s${i}`, problem: `What is ${i} + 1?` })),
    );
    samples = await sampleRefs(t, dataset);
    ck = await createCheckpoint(t, { name: 'student-0', baseModel: 'tiny-gpt' });
    // s0-s2 never solved, s3-s5 partly, s6-s8 always, s9 probed too few times.
    const rates: [number, number][] = [
      [0, 8],
      [0, 8],
      [0, 8],
      [2, 8],
      [4, 8],
      [7, 8],
      [8, 8],
      [8, 8],
      [8, 8],
      [1, 2],
    ];
    for (const [i, [s, n]] of rates.entries())
      await setPassRate(t, samples.get(`s${i}`)!, ck, s, n);
    const p = await gqlOk(
      t,
      `mutation { createRoutingPolicy(input: { name: "default", k: 8, minAttempts: 8, tauLow: 0, tauHigh: 1, replayFraction: 0.34, seed: 7 }) { id version } }`,
    );
    policy = p.createRoutingPolicy;
    const c = await gqlOk(
      t,
      `mutation($d: ID!, $b: ID!, $p: ID!) { createCurriculum(input: { name: "c1", datasetIds: [$d], baseCheckpointId: $b, policyId: $p, rounds: 2, autoAdvance: false }) { id status phase } }`,
      { d: dataset.id, b: ck.id, p: policy.id },
    );
    curriculum = c.createCurriculum;
    assert.deepEqual([c.createCurriculum.status, c.createCurriculum.phase], ['ACTIVE', 'PENDING']);
  });
  after(() => t?.close());

  it('previews counts per stage and the unrouted without writing anything', async () => {
    const data = await gqlOk(t, PREVIEW, {
      p: policy.id,
      c: ck.id,
      d: [dataset.id],
      from: 'NONE',
      to: 'SFT',
    });
    const pv = data.previewRouting;
    const counts = countsOf(pv.counts);
    assert.equal(counts.SFT, 3);
    assert.equal(counts.RL, 3);
    assert.equal((counts.REPLAY ?? 0) + (counts.DROPPED ?? 0), 3);
    assert.equal(pv.unrouted, 1);
    assert.equal(pv.total, 10);
    assert.equal(pv.moved, 9, 'without a curriculum round every routed sample is new');
    assert.deepEqual(
      pv.samples.nodes.map((n: { externalId: string }) => n.externalId),
      ['s0', 's1'],
    );
    assert.equal(pv.samples.pageInfo.hasNextPage, true);
    const [{ n }] = await t.server.ds.query<{ n: number }[]>(
      'SELECT count(*)::int AS n FROM stage_assignments',
    );
    assert.equal(n, 0);
  });

  it('applies a round in one transaction, each assignment with its reason; applying twice changes nothing', async () => {
    const first = (await gqlOk(t, APPLY, { cur: curriculum.id, r: 1, c: ck.id })).applyRouting;
    assert.equal(first.inserted, 9);
    assert.equal(first.unrouted, 1);
    const again = (await gqlOk(t, APPLY, { cur: curriculum.id, r: 1, c: ck.id })).applyRouting;
    assert.deepEqual([again.inserted, again.updated, again.removed, again.unchanged], [0, 0, 0, 9]);
    const rows = await t.server.ds.query<
      { external_id: string; stage: string; reason: string; pass_rate: number }[]
    >(
      `SELECT s.external_id, a.stage, a.reason, a.pass_rate FROM stage_assignments a
       JOIN samples s ON s.id = a.sample_id ORDER BY s.id`,
    );
    const by = new Map(rows.map((r) => [r.external_id, r]));
    assert.equal(by.get('s0')!.stage, 'SFT');
    assert.match(by.get('s0')!.reason, /p = 0\.000 \(0\/8 correct\) <= tauLow 0/);
    assert.match(by.get('s0')!.reason, /checkpoint student-0, policy default v1/);
    assert.equal(by.get('s4')!.stage, 'RL');
    assert.match(by.get('s4')!.reason, /tauLow 0 < p = 0\.500 \(4\/8 correct\) < tauHigh 1/);
    assert.ok(['REPLAY', 'DROPPED'].includes(by.get('s7')!.stage));
    assert.match(by.get('s7')!.reason, /mastered/);
    assert.equal(by.has('s9'), false, 'too few attempts: not routed');
  });

  it('previews the moves against the round, with the samples of a move paginated', async () => {
    await setPassRate(t, samples.get('s0')!, ck, 3, 8); // SFT -> RL
    await setPassRate(t, samples.get('s1')!, ck, 3, 8); // SFT -> RL
    await setPassRate(t, samples.get('s3')!, ck, 1, 4); // RL -> unrouted
    const data = await gqlOk(t, PREVIEW, {
      p: policy.id,
      c: ck.id,
      d: [dataset.id],
      cur: curriculum.id,
      r: 1,
      from: 'SFT',
      to: 'RL',
    });
    const pv = data.previewRouting;
    assert.equal(pv.moved, 3);
    assert.deepEqual(
      pv.moves
        .map((m: { from: string; to: string; count: number }) => `${m.from}->${m.to}:${m.count}`)
        .sort(),
      ['RL->UNROUTED:1', 'SFT->RL:2'],
    );
    assert.deepEqual(
      pv.samples.nodes.map((n: { externalId: string }) => n.externalId),
      ['s0', 's1'],
    );
    assert.equal(pv.samples.pageInfo.hasNextPage, false);
    // Re-applying now writes exactly those changes.
    const re = (await gqlOk(t, APPLY, { cur: curriculum.id, r: 1, c: ck.id })).applyRouting;
    assert.deepEqual([re.inserted, re.updated, re.removed], [0, 2, 1]);
  });

  it('explains an assignment, and why a sample has none', async () => {
    const q = `query($s: ID!, $c: ID!, $r: Int!) { explainAssignment(sampleId: $s, curriculumId: $c, round: $r) {
      stage explanation assignment { stage passRate attempts policy { name version } checkpoint { name } } passRate { attempts successes }
    } }`;
    const sft = (await gqlOk(t, q, { s: samples.get('s2')!.id, c: curriculum.id, r: 1 }))
      .explainAssignment;
    assert.equal(sft.stage, 'SFT');
    assert.match(sft.explanation, /tauLow/);
    assert.deepEqual(sft.assignment.policy, { name: 'default', version: 1 });
    assert.equal(sft.assignment.checkpoint.name, 'student-0');
    assert.deepEqual(sft.passRate, { attempts: 8, successes: 0 });
    const none = (await gqlOk(t, q, { s: samples.get('s9')!.id, c: curriculum.id, r: 1 }))
      .explainAssignment;
    assert.equal(none.stage, null);
    assert.match(none.explanation, /2 graded attempt\(s\).*fewer than minAttempts 8/);
    const later = (await gqlOk(t, q, { s: samples.get('s2')!.id, c: curriculum.id, r: 2 }))
      .explainAssignment;
    assert.match(later.explanation, /Round 2 .* has not been routed yet/);
  });

  it('refuses unknown ids and a wrong id type with clear codes', async () => {
    const bad = await t.gql(PREVIEW, {
      p: policy.id,
      c: toGlobalId('Checkpoint', 999),
      d: [dataset.id],
      from: 'NONE',
      to: 'SFT',
    });
    assert.equal(bad.errors?.[0].extensions.code, 'NOT_FOUND');
    const wrongType = await t.gql(PREVIEW, {
      p: ck.id,
      c: ck.id,
      d: [dataset.id],
      from: 'NONE',
      to: 'SFT',
    });
    assert.equal(wrongType.errors?.[0].extensions.code, 'BAD_USER_INPUT');
  });

  it("routes a curriculum round on its own probe run's attempts, not on every probe of the checkpoint", async () => {
    // A second curriculum from the same checkpoint, as an experiment's arms and seeds are.
    const c2 = await gqlOk(
      t,
      `mutation($d: ID!, $b: ID!, $p: ID!) { createCurriculum(input: { name: "c-own-probe", datasetIds: [$d], baseCheckpointId: $b, policyId: $p, rounds: 1, autoAdvance: false }) { id } }`,
      { d: dataset.id, b: ck.id, p: policy.id },
    );
    const [{ id: curriculumPk }] = await t.server.ds.query<{ id: number }[]>(
      `SELECT id FROM curricula WHERE name = 'c-own-probe'`,
    );
    const [{ id: probeRun }] = await t.server.ds.query<{ id: number }[]>(
      `INSERT INTO runs (stage, status, curriculum_id, round, input_checkpoint_id)
       VALUES ('PROBE', 'SUCCEEDED', $1, 1, $2) RETURNING id`,
      [curriculumPk, ck.pk],
    );
    // Its probe saw what the pooled pass rates do not: s0 (pooled 0/8) always right, s6 (pooled
    // 8/8) never, s9 (pooled 1/2, too few) half the time.
    await setPassRate(t, samples.get('s0')!, ck, 0, 8);
    await setPassRate(t, samples.get('s6')!, ck, 8, 8);
    await setPassRate(t, samples.get('s9')!, ck, 1, 2);
    const own: [number, number][] = [
      [8, 8],
      [0, 8],
      [0, 8],
      [2, 8],
      [4, 8],
      [7, 8],
      [0, 8],
      [8, 8],
      [8, 8],
      [4, 8],
    ];
    for (const [i, [successes, attempts]] of own.entries()) {
      for (let k = 0; k < attempts; k++) {
        await t.server.ds.query(
          `INSERT INTO traces (sample_id, external_id, kind, text, correct, run_id)
           VALUES ($1, $2, 'ROLLOUT', 'x', $3, $4)`,
          [samples.get(`s${i}`)!.pk, `own-probe:${i}:${k}`, k < successes, probeRun],
        );
      }
    }
    const routing = t.server.services.routing;
    const policyRow = await t.server.ds
      .getRepository(RoutingPolicy)
      .findOneByOrFail({ id: Number(fromGlobalId(policy.id).id) });
    const checkpoint = { id: Number(ck.pk), name: 'student-0' };
    await routing.applyToRound(
      t.server.ds.manager,
      curriculumPk,
      1,
      policyRow,
      checkpoint,
      probeRun,
    );
    const stages = async () =>
      Object.fromEntries(
        (
          await t.server.ds.query<{ external_id: string; stage: string; reason: string }[]>(
            `SELECT s.external_id, a.stage, a.reason FROM stage_assignments a
             JOIN samples s ON s.id = a.sample_id WHERE a.curriculum_id = $1 AND a.round = 1`,
            [curriculumPk],
          )
        ).map((r) => [r.external_id, r]),
      );
    const byOwnProbe = await stages();
    assert.equal(byOwnProbe.s6.stage, 'SFT');
    assert.equal(byOwnProbe.s9.stage, 'RL');
    assert.ok(['REPLAY', 'DROPPED'].includes(byOwnProbe.s0.stage), byOwnProbe.s0.stage);
    assert.match(byOwnProbe.s9.reason, /p = 0\.500 \(4\/8 correct\).*probe run /);
    // Without a probe run the same round routes on the checkpoint's pooled pass rates.
    await routing.applyToRound(t.server.ds.manager, curriculumPk, 1, policyRow, checkpoint, null);
    const pooled = await stages();
    assert.equal(pooled.s0.stage, 'SFT');
    assert.ok(['REPLAY', 'DROPPED'].includes(pooled.s6.stage), pooled.s6.stage);
    assert.equal(pooled.s9, undefined, 'too few pooled attempts: not routed');
    assert.ok(c2.createCurriculum.id);
  });

  it('keeps policy versions immutable: a change is a new version, old assignments keep theirs', async () => {
    const v2 = await gqlOk(
      t,
      `mutation { createRoutingPolicy(input: { name: "default", tauLow: 0.2, tauHigh: 0.9 }) { id version } }`,
    );
    assert.equal(v2.createRoutingPolicy.version, 2);
    const [{ versions }] = await t.server.ds.query<{ versions: number[] }[]>(
      `SELECT array_agg(DISTINCT p.version) AS versions FROM stage_assignments a JOIN routing_policies p ON p.id = a.policy_id`,
    );
    assert.deepEqual(versions, [1]);
  });
});
