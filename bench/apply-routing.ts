/**
 * Benchmark: `applyRouting` (through GraphQL, against a real server) over N samples with 8
 * graded rollouts each, next to one hand-written SQL statement that computes the same
 * assignments on the same data in the same run. Prints both times, the ratio, and that the two
 * agree sample by sample. Also times re-applying (nothing changes) and deriving the pass rates
 * from the rollouts (the set-based upsert ingest uses).
 *
 *   node dist/bench/apply-routing.js [--samples 1000000] [--rollouts 8]
 *
 * PostgreSQL: TEST_DATABASE_URL (an admin URL; a database is created for the run and dropped),
 * otherwise a throwaway embedded server. The rollouts are generated in SQL before any clock
 * starts (seeded: the same data every run).
 */
import 'reflect-metadata';
import { benchDatabase } from './bench-database';
import { positiveIntArgs } from './bench-args';
import { startTestServer } from '../tests/helpers/test-server';
import { upsertPassRatesSql } from '../src/modules/mastery/pass-rate.sql';
import { idOf, toGlobalId } from '../src/common/ids';

const seconds = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e9;

async function main(): Promise<void> {
  const args = positiveIntArgs(
    process.argv.slice(2),
    { samples: 1_000_000, rollouts: 8 },
    'apply-routing [--samples N] [--rollouts K]',
  );
  const stopDb = await benchDatabase();
  const t = await startTestServer({ CURRICULUM_TICK_MS: '0', LOG_LEVEL: 'warn' });
  try {
    const ds = t.server.ds;
    console.log(`# ${args.samples} samples x ${args.rollouts} graded rollouts`);
    let start = process.hrtime.bigint();
    await ds.query(`INSERT INTO datasets (name) VALUES ('bench')`);
    await ds.query(
      `INSERT INTO samples (dataset_id, external_id, problem, answer, content_hash)
       SELECT 1, 's' || i, 'What is ' || i || ' + 1?', (i + 1)::text, encode(sha256(i::text::bytea), 'hex')
       FROM generate_series(1, $1) AS i`,
      [args.samples],
    );
    await ds.query(
      `INSERT INTO checkpoints (name, base_model, uri) VALUES ('bench-student', 'tiny-gpt', 'file:///x')`,
    );
    // Each sample has a difficulty; each rollout succeeds with that probability (seeded).
    // setseed holds for its connection: one transaction keeps both statements on it.
    await ds.transaction(async (m) => {
      await m.query(`SELECT setseed(0.42)`);
      await m.query(
        `INSERT INTO traces (sample_id, external_id, kind, text, final_answer, correct, reward,
                           grader_version, producer)
       SELECT x.id, 'r' || x.j, 'ROLLOUT', CASE WHEN x.ok THEN 'Answer: ok' ELSE 'Answer: no' END,
              NULL, x.ok, x.ok::int, 'bench', 'bench-student'
       FROM (SELECT s.id, j, random() < ((s.id * 7919) % 101) / 100.0 AS ok
             FROM samples s CROSS JOIN generate_series(1, $1) AS j) x`,
        [args.rollouts],
      );
    });
    console.log(`data generated in ${seconds(start).toFixed(1)} s (not timed below)`);
    await ds.query('ANALYZE');

    start = process.hrtime.bigint();
    await ds.query(
      `WITH graded AS (SELECT sample_id, 1 AS checkpoint_id, count(*)::int AS attempts,
                              count(*) FILTER (WHERE correct)::int AS successes,
                              max(grader_version) AS grader_version
                       FROM traces WHERE kind = 'ROLLOUT' GROUP BY sample_id)
       ${upsertPassRatesSql('graded')}`,
    );
    const passRatesS = seconds(start);
    await ds.query('ANALYZE pass_rates');

    const policy = await t.gql(
      `mutation { createRoutingPolicy(input: { name: "bench", k: 8, minAttempts: 8, tauLow: 0, tauHigh: 1, replayFraction: 0.05, seed: 3 }) { id } }`,
    );
    const policyId = policy.data.createRoutingPolicy.id as string;
    const curriculum = async (name: string) =>
      (
        await t.gql(
          `mutation($p: ID!, $d: ID!, $b: ID!) { createCurriculum(input: { name: "${name}", datasetIds: [$d], baseCheckpointId: $b, policyId: $p, autoAdvance: false }) { id } }`,
          { p: policyId, d: toGlobalId('Dataset', 1), b: toGlobalId('Checkpoint', 1) },
        )
      ).data.createCurriculum.id as string;
    const viaApi = await curriculum('via-api');
    const viaSql = await curriculum('via-sql');
    const apiPk = Number(idOf('Curriculum', viaApi));
    const sqlPk = Number(idOf('Curriculum', viaSql));
    const apply = async () => {
      const from = process.hrtime.bigint();
      const res = await t.gql(
        `mutation($c: ID!, $ck: ID!) { applyRouting(curriculumId: $c, round: 1, checkpointId: $ck) { inserted updated unchanged unrouted } }`,
        { c: viaApi, ck: toGlobalId('Checkpoint', 1) },
      );
      if (res.errors) throw new Error(JSON.stringify(res.errors));
      return { s: seconds(from), result: res.data.applyRouting };
    };

    const first = await apply();
    start = process.hrtime.bigint();
    // The same decision, written by hand: one INSERT ... SELECT (stage, evidence, a reason).
    await ds.query(
      `INSERT INTO stage_assignments (curriculum_id, round, sample_id, stage, policy_id, checkpoint_id,
                                      pass_rate, attempts, reason)
       SELECT $1::int, 1, s.id, x.stage::assignment_stage, 1, 1, pr.rate, pr.attempts,
              format('p = %s (%s/%s) -> %s', round(pr.rate::numeric, 3), pr.successes, pr.attempts, x.stage)
       FROM samples s JOIN pass_rates pr ON pr.sample_id = s.id AND pr.checkpoint_id = 1
       CROSS JOIN LATERAL (SELECT CASE
           WHEN pr.rate <= 0 THEN 'SFT' WHEN pr.rate < 1 THEN 'RL'
           WHEN abs(hashtextextended(s.id::text, 3)) % 1000000 < 0.05 * 1000000 THEN 'REPLAY'
           ELSE 'DROPPED' END AS stage) x
       WHERE s.dataset_id = 1 AND pr.attempts >= 8`,
      [sqlPk],
    );
    const handS = seconds(start);
    const again = await apply();
    const [{ differ }] = await ds.query<{ differ: number }[]>(
      `SELECT count(*)::int AS differ FROM (
         (SELECT sample_id, stage FROM stage_assignments WHERE curriculum_id = $1
          EXCEPT SELECT sample_id, stage FROM stage_assignments WHERE curriculum_id = $2)
         UNION ALL
         (SELECT sample_id, stage FROM stage_assignments WHERE curriculum_id = $2
          EXCEPT SELECT sample_id, stage FROM stage_assignments WHERE curriculum_id = $1)) d`,
      [apiPk, sqlPk],
    );
    const counts = await ds.query<{ stage: string; n: number }[]>(
      `SELECT stage::text, count(*)::int AS n FROM stage_assignments WHERE curriculum_id = $1 GROUP BY 1 ORDER BY 1`,
      [apiPk],
    );

    console.log(
      `pass rates from ${args.samples * args.rollouts} rollouts (one upsert): ${passRatesS.toFixed(2)} s`,
    );
    console.log(`assignments per stage: ${counts.map((c) => `${c.stage} ${c.n}`).join(', ')}`);
    console.log(
      `applyRouting (GraphQL, first apply):  ${first.s.toFixed(2)} s  (${first.result.inserted} inserted)`,
    );
    console.log(`hand-written INSERT ... SELECT:       ${handS.toFixed(2)} s`);
    console.log(`ratio applyRouting / hand SQL:        ${(first.s / handS).toFixed(2)}`);
    console.log(
      `applyRouting again (changes nothing): ${again.s.toFixed(2)} s  (${again.result.updated} updated, ${again.result.unchanged} unchanged)`,
    );
    console.log(`samples whose stage differs between the two: ${differ}`);
    if (differ !== 0) process.exitCode = 1;
  } finally {
    await t.close();
    await stopDb();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
