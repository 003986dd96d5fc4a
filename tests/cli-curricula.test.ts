import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TestServer } from './helpers/test-server';
import { startRunnerTestServer, StagewiseCli } from './helpers/cli';
import {
  createCheckpoint,
  createDataset,
  importSamples,
  insertCurriculum,
  insertExperiment,
  insertPassRate,
  pkOf,
  sampleRefs,
  toGlobalId,
  type Ref,
} from './helpers/seed';

describe('stagewise CLI: policies, curricula and experiments', () => {
  let t: TestServer;
  let cli: StagewiseCli;
  let train: Ref;
  let evalSet: Ref;
  let checkpoint: Ref;
  let policyId: string;

  /** `policies preview` of the test policy under the base checkpoint. */
  const previewArgs = (...options: string[]) => [
    'policies',
    'preview',
    '--policy',
    policyId,
    '--checkpoint',
    checkpoint.id,
    ...options,
  ];
  /** `curricula create` on cc-train from the base checkpoint with the test policy. */
  const createArgs = (name: string, ...options: string[]) => [
    'curricula',
    'create',
    '--name',
    name,
    '--dataset',
    'cc-train',
    '--base',
    checkpoint.id,
    '--policy',
    policyId,
    ...options,
  ];

  before(async () => {
    t = await startRunnerTestServer();
    cli = new StagewiseCli(t);
    train = await createDataset(t, 'cc-train');
    evalSet = await createDataset(t, 'cc-eval', 'EVAL');
    await importSamples(
      t,
      train.id,
      ['never', 'half', 'mastered', 'some', 'few-attempts', 'unprobed'].map((x) => ({
        externalId: x,
        problem: `What is ${x}?`,
      })),
    );
    await importSamples(t, evalSet.id, [{ externalId: 'e1', problem: 'What is e1?' }]);
    checkpoint = await createCheckpoint(t, { name: 'cc-base' });
    const samples = await sampleRefs(t, train);
    const rates: [string, number, number][] = [
      ['never', 8, 0], // SFT
      ['half', 8, 4], // RL
      ['mastered', 8, 8], // DROPPED (replay 0)
      ['some', 16, 3], // RL
      ['few-attempts', 4, 2], // unrouted: fewer than minAttempts
    ];
    for (const [x, attempts, successes] of rates) {
      await insertPassRate(t, { sample: samples.get(x)!, checkpoint, attempts, successes });
    }
  });
  after(() => t?.close());

  it('policies create prints only the id; the same name again makes the next version', async () => {
    const res = await cli.run([
      'policies',
      'create',
      '--name',
      'cc-policy',
      '--k',
      '8',
      '--temperature',
      '1',
      '--min-attempts',
      '8',
      '--replay',
      '0',
      '--bridge',
      'select',
    ]);
    assert.equal(res.code, 0, res.stderr);
    policyId = res.stdout.trim();
    assert.match(policyId, /^[A-Za-z0-9_-]+$/, 'stdout is only the policy id');
    assert.match(res.stderr, /Created routing policy cc-policy v1: k=8 .*bridge=SELECT/);

    const v2 = JSON.parse(
      await cli.ok(['policies', 'create', '--name', 'cc-policy', '--tau-high', '0.9', '--json']),
    );
    assert.equal(v2.version, 2);
    assert.equal(v2.tauHigh, 0.9);
    assert.equal(v2.bridgeStrategy, 'SELECT');
  });

  it('policies list shows every version, as a table and as JSON', async () => {
    const rows = JSON.parse(await cli.ok(['policies', 'list', '--json'])) as {
      id: string;
      name: string;
      version: number;
      replayFraction: number;
    }[];
    assert.deepEqual(
      rows.map((p) => `${p.name} v${p.version}`),
      ['cc-policy v1', 'cc-policy v2'],
    );
    assert.equal(rows[0].id, policyId);
    assert.equal(rows[0].replayFraction, 0);
    const human = await cli.ok(['policies', 'list', '--name', 'cc-policy']);
    assert.match(human, /^ID\s+NAME\s+VERSION\s+K\s+TEMP\s+TAU_LOW\s+TAU_HIGH/);
    assert.match(human, /cc-policy\s+v2\s+8\s+1\s+0\s+0\.9\s+8\s+0\.05\s+SELECT/);
    assert.equal(
      (await cli.ok(['policies', 'list', '--name', 'nothing'])).trim(),
      'No routing policies.',
    );
  });

  it('policies preview counts samples per stage from the stored pass rates', async () => {
    const preview = JSON.parse(await cli.ok(previewArgs('--dataset', 'cc-train', '--json'))) as {
      counts: { stage: string; count: number }[];
      unrouted: number;
      total: number;
    };
    const counts = Object.fromEntries(preview.counts.map((c) => [c.stage, c.count]));
    assert.equal(counts.SFT, 1);
    assert.equal(counts.RL, 2);
    assert.equal(counts.DROPPED, 1);
    assert.equal(counts.REPLAY ?? 0, 0);
    assert.equal(preview.unrouted, 2);
    assert.equal(preview.total, 6);

    // A dataset id works as well as a name; the table has one line per stage.
    const human = await cli.ok(previewArgs('--dataset', train.id));
    assert.match(human, /^STAGE\s+SAMPLES\s+SHARE/);
    assert.match(human, /^SFT\s+1\s+16\.7%$/m);
    assert.match(human, /^RL\s+2\s+33\.3%$/m);
    assert.match(human, /^REPLAY\s+0\s+0%$/m);
    assert.match(human, /^DROPPED\s+1\s+16\.7%$/m);
    assert.match(human, /^\(unrouted\)\s+2\s+33\.3%$/m);
    assert.match(human, /^total\s+6\s+100%$/m);
    assert.match(human, /2 samples have fewer graded attempts/);
  });

  it('policies preview against a curriculum round lists the moves', async () => {
    const c = await insertCurriculum(t, {
      name: 'cc-moves',
      baseCheckpoint: checkpoint,
      policy: { id: policyId, pk: pkOf(policyId) },
      status: 'SUCCEEDED',
      datasets: [train],
    });
    const res = await cli.ok(
      previewArgs('--dataset', 'cc-train', '--curriculum', c.id, '--round', '1'),
    );
    // No assignments yet: every routed sample moves from NONE.
    assert.match(res, /Moves against round 1's current assignments: 4/);
    assert.match(res, /^FROM\s+TO\s+SAMPLES/m);
    assert.match(res, /^NONE\s+RL\s+2$/m);
  });

  it('policies: bad arguments exit 3, what the API refuses exits 1', async () => {
    const createX = (...options: string[]) => ['policies', 'create', '--name', 'x', ...options];
    const previewPC = (...options: string[]) => [
      'policies',
      'preview',
      '--policy',
      'p',
      '--checkpoint',
      'c',
      ...options,
    ];
    const usage: string[][] = [
      ['policies'],
      ['policies', 'create'],
      createX('--tau-low', '2'),
      createX('--bridge', 'teleport'),
      createX('--k', '0'),
      createX('--bridge-options', '[1]'),
      createX('--bogus'),
      previewPC(),
      previewPC('--dataset', 'd', '--round', '1'),
    ];
    await cli.expectExits([
      ...usage.map((args) => ({ args, code: 3, stdout: '' })),
      {
        args: createX('--tau-low', '0.9', '--tau-high', '0.5'),
        code: 1,
        stderr: /tauLow .* must be below tauHigh.*\[BAD_USER_INPUT\]/,
      },
      {
        args: previewArgs('--dataset', 'no-such-dataset'),
        code: 1,
        stderr: /no-such-dataset.*\[NOT_FOUND\]/,
      },
      {
        args: ['policies', 'create', '--name', 'ro'],
        env: { STAGEWISE_API_KEY: t.keys.read },
        code: 3,
        stderr: /FORBIDDEN/,
      },
    ]);
  });

  let curriculumId: string;

  it('curricula create (no auto-advance) prints the id; status shows it PENDING', async () => {
    const res = await cli.run(
      createArgs(
        'cc-one',
        '--eval-dataset',
        'cc-eval',
        '--rounds',
        '3',
        '--stage-configs',
        '{"SFT": {"steps": 5}, "RL": {"steps": 2}}',
        '--no-auto-advance',
      ),
    );
    assert.equal(res.code, 0, res.stderr);
    curriculumId = res.stdout.trim();
    assert.equal(curriculumId, toGlobalId('Curriculum', pkOf(curriculumId)));
    assert.match(
      res.stderr,
      /Created curriculum cc-one: 3 rounds from cc-base with policy cc-policy v1/,
    );
    assert.match(res.stderr, /no auto-advance: stagewise curricula advance/);

    const status = await cli.ok(['curricula', 'status', curriculumId]);
    assert.match(
      status,
      new RegExp(
        `^Curriculum cc-one \\(${curriculumId}\\): ACTIVE, round -/3, phase PENDING$`,
        'm',
      ),
    );
    assert.match(
      status,
      /trains on cc-train; evaluates on cc-eval; launcher local; no auto-advance/,
    );
    assert.match(status, /current run: none/);
    assert.match(status, /No round has started yet\./);

    const json = JSON.parse(await cli.ok(['curricula', 'status', curriculumId, '--json']));
    assert.equal(json.id, curriculumId);
    assert.equal(json.status, 'ACTIVE');
    assert.equal(json.phase, 'PENDING');
    assert.equal(json.rounds, 3);
    assert.equal(json.autoAdvance, false);
    assert.deepEqual(json.stageConfigs, { SFT: { steps: 5 }, RL: { steps: 2 } });
    assert.deepEqual(
      json.datasets.map((d: { name: string }) => d.name),
      ['cc-train'],
    );
    assert.deepEqual(json.roundResults, []);
    assert.equal(json.currentRun, null);
    // Nothing was started.
    const runs = await t.server.ds.query('SELECT id FROM runs');
    assert.equal(runs.length, 0);
  });

  it('curricula list shows it, as a table and as JSON', async () => {
    const rows = JSON.parse(await cli.ok(['curricula', 'list', '--json'])) as { name: string }[];
    assert.ok(rows.some((c) => c.name === 'cc-one'));
    const human = await cli.ok(['curricula', 'list', '--status', 'active']);
    assert.match(human, /^ID\s+NAME\s+STATUS\s+ROUND\s+PHASE/);
    assert.match(human, /cc-one\s+ACTIVE\s+0\/3\s+PENDING\s+-\s+cc-base\s+cc-policy v1/);
    assert.doesNotMatch(human, /cc-moves/, 'filtered by status');
  });

  it('curricula status prints one line per round with its figures', async () => {
    const end1 = await createCheckpoint(t, { name: 'cc-r1-end' });
    const end2 = await createCheckpoint(t, { name: 'cc-r2-end' });
    const pk = pkOf(curriculumId);
    const insertRound = (round: number, start: Ref, end: Ref | null, stats: object) =>
      t.server.ds.query(
        `INSERT INTO curriculum_rounds (curriculum_id, round, start_checkpoint_id, end_checkpoint_id, stats)
         VALUES ($1, $2, $3, $4, $5)`,
        [pk, round, start.pk, end?.pk ?? null, JSON.stringify(stats)],
      );
    await insertRound(1, checkpoint, end1, {
      samplesPerStage: { SFT: 120, RL: 200, REPLAY: 3, DROPPED: 60 },
      unrouted: 17,
      moved: 0,
      moves: {},
      bridge: { strategy: 'SELECT', samples: 120, candidates: 240, written: 118 },
      critiques: { harvested: 25, written: 24, verified: 10 },
      sftEvalAccuracy: 0.385,
      evalAccuracy: 0.41,
      baseEvalAccuracy: 0.303,
    });
    await insertRound(2, end1, end2, {
      samplesPerStage: { SFT: 80, RL: 210, REPLAY: 5, DROPPED: 105 },
      unrouted: 0,
      moved: 70,
      moves: { 'SFT->RL': 50, 'RL->DROPPED': 20 },
      bridge: { strategy: 'SELECT', written: 79 },
      critiques: { harvested: 12, written: 12, verified: 9 },
      evalAccuracy: 0.28,
      baseEvalAccuracy: 0.303,
    });
    await insertRound(3, end2, null, {});
    await t.server.ds.query(
      `UPDATE curricula SET current_round = 3, phase = 'PROBE', updated_at = now() WHERE id = $1`,
      [pk],
    );

    const out = await cli.ok(['curricula', 'status', curriculumId]);
    assert.match(out, /ACTIVE, round 3\/3, phase PROBE/);
    assert.match(
      out,
      /^ROUND\s+CHECKPOINTS \(start -> end\)\s+SFT\s+RL\s+REPLAY\s+DROPPED\s+UNROUTED\s+MOVED\s+BRIDGED\s+CRITIQUES ok\/harvested\s+SFT ACC\s+EVAL ACC\s+BASE ACC\s+DELTA$/m,
    );
    assert.match(
      out,
      /^1\s+cc-base -> cc-r1-end\s+120\s+200\s+3\s+60\s+17\s+0\s+118\s+10\/25\s+38\.5%\s+41\.0%\s+30\.3%\s+\+10\.7$/m,
    );
    assert.match(
      out,
      /^2\s+cc-r1-end -> cc-r2-end\s+80\s+210\s+5\s+105\s+0\s+70\s+79\s+9\/12\s+-\s+28\.0%\s+30\.3%\s+-2\.3$/m,
    );
    assert.match(out, /^3\s+cc-r2-end -> …\s+-\s+-\s+-\s+-\s+-\s+-\s+-\s+-\s+-\s+-\s+-\s+-$/m);
    assert.match(out, /round 2 moves: SFT->RL 50, RL->DROPPED 20/);

    const json = JSON.parse(await cli.ok(['curricula', 'status', curriculumId, '--json']));
    assert.equal(json.roundResults.length, 3);
    assert.equal(json.roundResults[1].stats.moves['SFT->RL'], 50);
    assert.equal(json.roundResults[0].endCheckpoint.name, 'cc-r1-end');
  });

  it('curricula watch exits 1 on a PAUSED curriculum (with the reason) and 0 on a SUCCEEDED one', async () => {
    const policy = { id: policyId, pk: pkOf(policyId) };
    const paused = await insertCurriculum(t, {
      name: 'cc-paused',
      baseCheckpoint: checkpoint,
      policy,
      status: 'PAUSED',
      datasets: [train],
    });
    await t.server.ds.query(`UPDATE curricula SET pause_reason = $2 WHERE id = $1`, [
      paused.pk,
      'SFT run UnVuOjc failed: out of memory; retry it to resume',
    ]);
    const p = await cli.run(['curricula', 'watch', paused.id]);
    assert.equal(p.code, 1, p.stderr + p.stdout);
    assert.match(p.stdout, /Curriculum cc-paused PAUSED/);
    assert.match(p.stdout, /reason: SFT run UnVuOjc failed: out of memory/);
    assert.match(p.stdout, new RegExp(`stagewise curricula resume ${paused.id}`));

    const done = await insertCurriculum(t, {
      name: 'cc-done',
      baseCheckpoint: checkpoint,
      policy,
      status: 'SUCCEEDED',
      datasets: [train],
    });
    const d = await cli.run(['curricula', 'watch', done.id]);
    assert.equal(d.code, 0, d.stderr + d.stdout);
    assert.match(d.stdout, /Curriculum cc-done SUCCEEDED/);
  });

  it('curricula watch follows a live change: a cancel ends it with exit 2', async () => {
    const id = (await cli.ok(createArgs('cc-live', '--no-auto-advance'))).trim();
    const watch = cli.start(['curricula', 'watch', id]);
    await watch.waitForStdout(/Watching curriculum cc-live/, 20_000);
    assert.match(watch.stdout, /Watching curriculum cc-live .*ACTIVE, round -\/2, phase PENDING/);
    assert.match(watch.stdout, /no auto-advance/);
    // Let the subscription open, then cancel through the CLI.
    await new Promise((r) => setTimeout(r, 1000));
    const cancelled = await cli.ok(['curricula', 'cancel', id]);
    assert.match(cancelled, /Curriculum cc-live: CANCELLED/);
    const code = await watch.exit(20_000);
    assert.equal(code, 2, watch.stderr + watch.stdout);
    assert.match(watch.stdout, /round -\/2 {2}PENDING CANCELLED/);
    assert.match(watch.stdout, /Curriculum cc-live CANCELLED/);

    // A cancelled curriculum cannot be cancelled, resumed or advanced again: the API says why.
    await cli.expectExits(
      ['cancel', 'resume', 'advance'].map((sub) => ({
        args: ['curricula', sub, id],
        code: 1,
        stderr: /CANCELLED.*\[CONFLICT\]/,
      })),
    );
  });

  it('curricula: unknown ids exit 1 (3 for watch); bad arguments exit 3', async () => {
    const unknown = toGlobalId('Curriculum', 99999);
    await cli.expectExits([
      { args: ['curricula', 'status', unknown], code: 1, stderr: /\[NOT_FOUND\]/ },
      {
        args: ['curricula', 'status', checkpoint.id],
        code: 1,
        stderr: /is a Checkpoint id, not a curriculum's/,
      },
      { args: ['curricula', 'watch', unknown], code: 3, stderr: /NOT_FOUND/ },
      { args: ['curricula', 'watch', 'not-an-id'], code: 3 },
      { args: ['curricula', 'cancel', unknown], code: 1 },
      {
        args: createArgs('cc-one', '--no-auto-advance'),
        code: 1,
        stderr: /already exists.*\[CONFLICT\]/,
      },
      {
        args: createArgs('cc-bad-stage', '--stage-configs', '{"TRAIN": {"steps": 1}}'),
        code: 1,
        stderr: /unknown stage "TRAIN".*\[BAD_USER_INPUT\]/,
      },
      { args: createArgs('cc-bad-split', '--eval-dataset', 'cc-train'), code: 1 },
    ]);

    const createX = (...options: string[]) => [
      ...['curricula', 'create', '--name', 'x', '--dataset', 'd', '--base', 'b', '--policy', 'p'],
      ...options,
    ];
    const usage: string[][] = [
      ['curricula'],
      ['curricula', 'frobnicate'],
      ['curricula', 'status'],
      ['curricula', 'watch', 'a', 'b'],
      ['curricula', 'watch', 'a', '--reconnect-timeout', '0'],
      ['curricula', 'list', '--status', 'SLEEPING'],
      ['curricula', 'create', '--name', 'x'],
      createX('--stage-configs', '{oops'),
      createX('--rounds', '0'),
      createX('--launcher', 'cloud'),
      ['curricula', 'cancel'],
    ];
    await cli.expectExits(
      usage.map((args) => ({ args, code: 3, stderr: /Usage:|must be|--/, stdout: '' })),
    );
    const help = await cli.run(['curricula', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /stagewise curricula watch ID/);
    await cli.expectExits([
      {
        args: ['curricula', 'list'],
        env: { STAGEWISE_URL: 'http://127.0.0.1:9' },
        code: 3,
        stderr: /cannot reach the stagewise API/,
      },
    ]);
  });

  it('experiments watch exits 1 on a PAUSED experiment (with the reason and the table) and 0 on a SUCCEEDED one; 3 on an unknown id', async () => {
    const seeded = (name: string, status: 'PAUSED' | 'SUCCEEDED', pauseReason?: string) =>
      insertExperiment(t, {
        name,
        baseCheckpoint: checkpoint,
        train: [train],
        eval: [evalSet],
        arms: ['SFT_ALL', 'RL_ONLY'],
        status,
        pauseReason,
      });
    const paused = await seeded('ce-paused', 'PAUSED', 'RL_ONLY seed 1: RL run UnVuOjc failed');
    const p = await cli.run(['experiments', 'watch', paused.id]);
    assert.equal(p.code, 1, p.stderr + p.stdout);
    assert.match(p.stdout, /^Watching experiment ce-paused .*: PAUSED; SFT_ALL, RL_ONLY x 2 seeds/);
    assert.match(p.stdout, /Experiment ce-paused PAUSED/);
    assert.match(p.stdout, /paused: RL_ONLY seed 1: RL run UnVuOjc failed/);
    assert.match(p.stdout, /\nRL_ONLY\s+0\/2\s+-/);

    const done = await seeded('ce-done', 'SUCCEEDED');
    const d = await cli.run(['experiments', 'watch', done.id]);
    assert.equal(d.code, 0, d.stderr + d.stdout);
    assert.match(d.stdout, /Experiment ce-done SUCCEEDED/);

    await cli.expectExits([
      {
        args: ['experiments', 'watch', toGlobalId('Experiment', 99999)],
        code: 3,
        stderr: /NOT_FOUND/,
      },
      {
        args: ['experiments', 'watch', checkpoint.id],
        code: 3,
        stderr: /is a Checkpoint id, not an experiment's/,
      },
    ]);
  });

  it('experiments create: bad arguments exit 3 before any request; what the API refuses exits 1', async () => {
    const createX = (...options: string[]) => [
      ...['experiments', 'create', '--name', 'ce-x', '--train', 'cc-train', '--eval', 'cc-eval'],
      ...['--base', checkpoint.id, '--budget', '1000'],
      ...options,
    ];
    const usage: string[][] = [
      ['experiments', 'create', '--name', 'x'],
      createX(),
      createX('--arms', 'SFT_ALL,LUCK'),
      createX('--arms', 'SFT_ALL,sft_all'),
      createX('--arms', 'SFT_ALL', '--seeds', '0'),
      createX('--arms', 'SFT_ALL', '--budget', 'lots'),
      createX('--arms', 'SFT_ALL', '--stage-configs', '{"SFT": 3}'),
      createX('--arms', 'SFT_ALL', '--launcher', 'cloud'),
      createX('--arms', 'SFT_ALL', 'extra'),
      ['experiments', 'watch'],
      ['experiments', 'watch', 'a', '--reconnect-timeout', '0'],
    ];
    await cli.expectExits(
      usage.map((args) => ({ args, code: 3, stderr: /Usage:|must be|--|each arm/, stdout: '' })),
    );
    await cli.expectExits([
      {
        args: createX('--arms', 'STAGEWISE'),
        code: 1,
        stderr: /policyId: the arms STAGEWISE run the method's curriculum.*\[BAD_USER_INPUT\]/,
      },
      {
        args: createX('--arms', 'SFT_ALL', '--eval', 'cc-train'),
        code: 1,
        stderr: /\[BAD_USER_INPUT\]/,
      },
      {
        args: createX('--arms', 'SFT_ALL', '--train', 'nope'),
        code: 1,
        stderr: /no dataset named/,
      },
    ]);
    const [{ n }] = await t.server.ds.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM experiments WHERE name = 'ce-x'`,
    );
    assert.equal(n, 0, 'nothing half-written');
    const help = await cli.run(['experiments', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /stagewise experiments create --name NAME --train/);
    assert.match(help.stdout, /stagewise experiments watch ID/);
  });
});
