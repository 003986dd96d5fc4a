import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startTestServer, type TestServer } from './helpers/test-server';
import { loadTask, runEnv, sftInput, sleep, startRun, waitFor } from './helpers/runs';
import { runScript, STAGEWISE_CLI } from './helpers/cli';
import {
  createCheckpoint,
  createPolicy,
  gqlOk,
  insertCurriculum,
  insertExperiment,
  insertPassRate,
  insertRun,
  insertRunEvents,
  sampleRefs,
  type Ref,
} from './helpers/seed';

/** test-artifacts/ of the repository (dist/tests -> repo root), as scripts/test.sh makes it. */
const ARTIFACTS = path.resolve(__dirname, '..', '..', 'test-artifacts');
/** Evaluated in the page (the tests compile without the DOM's types). */
const STORED_KEY = `sessionStorage.getItem('stagewise.apiKey')`;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe('the dashboard in headless Chromium', () => {
  let t: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let origin: string;
  let checkpoint: Ref;
  let curriculum: Ref;
  let datasetRef: Ref;
  /** Requests the page tried to send anywhere but the API server (all aborted). */
  const outside: string[] = [];
  /** Every URL the page requested from the server. */
  const requested: string[] = [];

  before(async () => {
    t = await startTestServer(runEnv());
    origin = new URL(t.url).origin;
    const dataset = await loadTask(t, 'dash-arith');
    datasetRef = { id: dataset.id, pk: dataset.pk };

    // A checkpoint's pass rates: 40 samples, 8 attempts each, every rate from 0/8 to 8/8.
    // Checkpoint names as long as a real curriculum's (they must not widen the table).
    checkpoint = await createCheckpoint(t, { name: 'curriculum-base-20261126-070925' });
    const samples = [...(await sampleRefs(t, datasetRef)).values()].slice(0, 40);
    for (const [i, sample] of samples.entries()) {
      await insertPassRate(t, { sample, checkpoint, attempts: 8, successes: i % 9 });
    }

    // A curriculum with two finished rounds and one just started.
    const policy = await createPolicy(t, { name: 'dash-policy' });
    curriculum = await insertCurriculum(t, {
      name: 'dash-curriculum',
      baseCheckpoint: checkpoint,
      policy,
      rounds: 3,
      datasets: [datasetRef],
    });
    const end1 = await createCheckpoint(t, { name: 'rl-UnVuOjU-step-40' });
    const end2 = await createCheckpoint(t, { name: 'rl-UnVuOjEw-step-40' });
    const insertRound = (round: number, start: Ref, end: Ref | null, stats: object) =>
      t.server.ds.query(
        `INSERT INTO curriculum_rounds (curriculum_id, round, start_checkpoint_id, end_checkpoint_id, stats)
         VALUES ($1, $2, $3, $4, $5)`,
        [curriculum.pk, round, start.pk, end?.pk ?? null, JSON.stringify(stats)],
      );
    await insertRound(1, checkpoint, end1, {
      samplesPerStage: { SFT: 120, RL: 200, REPLAY: 3, DROPPED: 60 },
      unrouted: 17,
      moved: 0,
      moves: {},
      sftEvalAccuracy: 0.385,
      evalAccuracy: 0.41,
    });
    await insertRound(2, end1, end2, {
      samplesPerStage: { SFT: 80, RL: 210, REPLAY: 5, DROPPED: 105 },
      unrouted: 0,
      moved: 70,
      moves: { 'SFT->RL': 50, 'RL->DROPPED': 20, 'RL->SFT': 64, 'RL->REPLAY': 1, 'DROPPED->RL': 1 },
      evalAccuracy: 0.48,
    });
    await t.server.ds.query(
      `UPDATE curricula SET current_round = 2, phase = 'PROBE', updated_at = now() WHERE id = $1`,
      [curriculum.pk],
    );

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox'],
    });
    context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    // No internet: anything not addressed to the API server is refused and counted.
    await context.route('**/*', async (route) => {
      const url = route.request().url();
      if (new URL(url).origin === origin) {
        requested.push(url);
        await route.continue();
      } else {
        outside.push(url);
        await route.abort();
      }
    });
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  const pointsOf = (id: string) =>
    page.$eval(`#${id}`, (el) => Number(el.getAttribute('data-points') ?? 0));
  const statusOf = (runId: string) =>
    page
      .$(`tr[data-run-id="${runId}"]`)
      .then((row) => row?.getAttribute('data-status') ?? null)
      .catch(() => null);

  /**
   * The data tables of these sections (uPlot's legends are tables too, inside the charts) have
   * rows and fit their boxes without a scrollbar; measured in one page-side call.
   */
  async function assertTablesFit(sections: string[]) {
    const boxes = await page.$$eval(
      sections.map((id) => `#${id} .scroll > table`).join(', '),
      (tables) =>
        tables.map((table) => {
          const box = table.parentElement!;
          return {
            table: table.closest('section')?.id,
            rows: table.querySelectorAll('tbody tr').length,
            scrollWidth: box.scrollWidth,
            clientWidth: box.clientWidth,
            tableWidth: Math.ceil(table.getBoundingClientRect().width),
          };
        }),
    );
    assert.deepEqual(boxes.map((b) => b.table).sort(), [...sections].sort());
    for (const box of boxes) {
      assert.ok(box.rows > 0, `${box.table} has rows: ${JSON.stringify(box)}`);
      assert.ok(
        box.scrollWidth <= box.clientWidth,
        `${box.table} overflows: ${JSON.stringify(box)}`,
      );
      assert.ok(
        box.tableWidth <= box.clientWidth,
        `${box.table} overflows: ${JSON.stringify(box)}`,
      );
    }
  }

  it('a wrong key shows a clear error on the page', async () => {
    const wrong = await context.newPage();
    await wrong.goto(`${origin}/dashboard#key=sw_not_a_key`);
    const error = wrong.locator('#error');
    await error.waitFor({ state: 'visible' });
    assert.match(await error.innerText(), /API key refused: The API key is unknown or revoked/);
    assert.equal(await wrong.locator('#run-rows tr').count(), 0);
    await wrong.evaluate('sessionStorage.clear()');
    await wrong.close();
  });

  it('with no key it asks for one, and a key typed into the field connects', async () => {
    page = await context.newPage();
    await page.goto(`${origin}/dashboard/`);
    assert.match(await page.locator('#error').innerText(), /No API key/);
    await page.fill('#key', t.keys.read);
    await page.click('#key-form button[type=submit]');
    await page.locator('#error').waitFor({ state: 'hidden' });
    await page.locator('#live.live').waitFor();
    assert.equal(await page.evaluate(STORED_KEY), t.keys.read);
    await page.close();
  });

  it('a key in the URL fragment is kept in sessionStorage and dropped from the address', async () => {
    page = await context.newPage();
    await page.goto(`${origin}/dashboard#key=${t.keys.read}`);
    await page.locator('#live.live').waitFor();
    assert.equal(new URL(page.url()).hash, '');
    assert.equal(await page.evaluate(STORED_KEY), t.keys.read);
    assert.equal(await page.locator('#error').isHidden(), true);
  });

  it('a run started while the page is open shows up, goes RUNNING then SUCCEEDED, and its loss curve grows live', async () => {
    const run = await startRun(t, sftInput({ steps: 200, log_every: 5 }));
    await page.locator(`tr[data-run-id="${run.id}"]`).waitFor();
    const seen: { status: string | null; points: number }[] = [];
    let liveShot: string | undefined;
    await waitFor(
      'the run to succeed on the page',
      async () => {
        const sample = { status: await statusOf(run.id), points: await pointsOf('chart-loss') };
        if (!liveShot && sample.status === 'RUNNING' && sample.points >= 10) {
          // The curve mid-run, as the issue asks to see it.
          liveShot = path.join(ARTIFACTS, 'dashboard-live.png');
          await fs.promises.mkdir(ARTIFACTS, { recursive: true });
          await page.screenshot({ path: liveShot });
        }
        if (seen.at(-1)?.status !== sample.status || seen.at(-1)?.points !== sample.points) {
          seen.push(sample);
        }
        return sample.status === 'SUCCEEDED';
      },
      // 200 steps of the tiny model: well under a minute on a quiet machine, minutes on a busy one.
      400_000,
      100,
    );
    const statuses = [...new Set(seen.map((s) => s.status))];
    assert.ok(statuses.includes('RUNNING'), `statuses seen: ${statuses.join(', ')}`);
    assert.equal(statuses.at(-1), 'SUCCEEDED');
    assert.ok(liveShot && fs.existsSync(liveShot), 'a screenshot of the curve while it ran');
    // While it ran the curve grew step by step (several distinct, increasing point counts).
    const whileRunning = seen.filter((s) => s.status === 'RUNNING' && s.points > 0);
    assert.ok(
      whileRunning.length >= 3,
      `the loss curve grew while running: ${JSON.stringify(seen)}`,
    );
    for (let i = 1; i < whileRunning.length; i++) {
      assert.ok(whileRunning[i].points > whileRunning[i - 1].points, JSON.stringify(seen));
    }
    // In the end, one point per logged step: 200 steps, every 5.
    const final = await waitFor('every loss point', async () => {
      const n = await pointsOf('chart-loss');
      return n >= 40 && n;
    });
    assert.equal(final, 40);
    assert.match(await page.locator('#run-title').innerText(), /SFT\s+SUCCEEDED/);
    assert.match(await page.locator('#run-summary').innerText(), /step 200 of 200/);
  });

  it("a curriculum's rounds show samples per stage and the moves between stages", async () => {
    await page.selectOption('#curriculum-select', curriculum.id);
    await page.locator('#round-rows tr').nth(1).waitFor();
    assert.match(
      await page.locator('#curriculum-summary').innerText(),
      /dash-curriculum: ACTIVE · round 2\/3 · phase PROBE/,
    );
    const rows = await page.locator('#round-rows tr').allInnerTexts();
    assert.equal(rows.length, 2);
    assert.match(
      rows[0],
      /^1\s+curriculum-base-20261126-070925 → rl-UnVuOjU-step-40\s+120\s+200\s+3\s+-\s+60\s+17\s+0\s+-\s+38\.5%\s+41\.0%$/,
    );
    for (const move of ['SFT->RL 50', 'RL->DROPPED 20', 'RL->SFT 64', 'DROPPED->RL 1']) {
      assert.ok(rows[1].includes(move), `${move} in ${rows[1]}`);
    }
    assert.equal(await pointsOf('chart-stages'), 2);
  });

  it("a checkpoint's pass-rate histogram renders its bins", async () => {
    await page.selectOption('#checkpoint-select', checkpoint.id);
    await page.locator('#histogram-summary', { hasText: 'samples probed' }).waitFor();
    assert.match(
      await page.locator('#histogram-summary').innerText(),
      /^40 samples probed \(320 attempts\) · mean pass rate [\d.]+% · never solved 5 · always solved 4$/,
    );
    assert.equal(await pointsOf('chart-histogram'), 10);
  });

  it('at 1400 px no table is cut off: each fits its box without a scrollbar', async () => {
    assert.equal(page.viewportSize()?.width, 1400);
    await page.locator('#round-rows tr').nth(1).waitFor();
    // The data tables with rows by now (the experiment's: its own test).
    await assertTablesFit(['curriculum', 'runs']);
    // The last column of the runs table ("created") is inside the page, not under a scrollbar.
    // Found and measured in one page-side call: live run events re-render the rows, and a cell
    // located first and measured later may by then be detached (no box).
    const created = await page.$eval('#run-rows tr:first-child td:last-child', (td) => {
      const rect = td.getBoundingClientRect();
      return { x: rect.x, width: rect.width };
    });
    assert.ok(created.width > 0 && created.x + created.width <= 1400, JSON.stringify(created));
  });

  it('a run is named as the CLI names it: the id `stagewise runs list` prints', async () => {
    const cli = await runScript(
      STAGEWISE_CLI,
      ['runs', 'list'],
      { ...process.env, STAGEWISE_URL: t.url, STAGEWISE_API_KEY: t.keys.read, NO_COLOR: '1' },
      60_000,
    );
    assert.equal(cli.code, 0, cli.stderr);
    const cliNames = cli.stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split(/\s+/)[0]);
    const row = page.locator('#run-rows tr').first();
    const runId = await row.getAttribute('data-run-id');
    const shown = await row.locator('td').first().innerText();
    assert.equal(shown, runId);
    assert.deepEqual(cliNames, [shown], 'the one run, named alike in both');
    assert.match(await page.locator('#run-title').innerText(), new RegExp(`^${shown} · SFT`));
  });

  // After the runs' naming test: its seeded runs would be in `runs list`.
  it("an experiment's arms: a point per arm with its 95% interval, a table row each, updated live", async () => {
    const samples = [...(await sampleRefs(t, datasetRef)).values()].slice(0, 20).map((r) => r.id);
    const accuracies: Record<string, number[]> = {
      STAGEWISE: [0.6, 0.7, 0.65],
      SFT_ALL: [0.45, 0.55, 0.5],
      RL_ONLY: [0.3, 0.35, 0.25],
    };
    const experiment = await insertExperiment(t, {
      name: 'dash-experiment',
      baseCheckpoint: checkpoint,
      train: [datasetRef],
      eval: [datasetRef],
      arms: Object.keys(accuracies),
      seeds: 3,
    });
    /** One seed as the engine leaves it: an SFT run, then its EVAL with its outcomes. */
    const seedDone = async (arm: string, seed: number) => {
      const accuracy = accuracies[arm][seed];
      const right = Math.round(accuracy * samples.length);
      const steps: [string, object][] = [
        ['SFT', { 'compute/tokens': 9_900 }],
        ['EVAL', { 'eval/accuracy': accuracy }],
      ];
      for (const [step, [stage, metrics]] of steps.entries()) {
        const run = await insertRun(t, { stage: stage as 'SFT' | 'EVAL', status: 'SUCCEEDED' });
        await t.server.ds.query('UPDATE runs SET metrics = $2 WHERE id = $1', [
          run.pk,
          JSON.stringify(metrics),
        ]);
        if (stage === 'EVAL') {
          await insertRunEvents(t, run, [
            {
              seq: 1,
              type: 'ARTIFACT',
              payload: {
                kind: 'eval_outcomes',
                correct: samples.slice(0, right),
                wrong: samples.slice(right),
              },
            },
          ]);
        }
        await t.server.ds.query(
          `INSERT INTO experiment_runs (experiment_id, arm, seed, step, run_id) VALUES ($1, $2, $3, $4, $5)`,
          [experiment.pk, arm, seed, step, run.pk],
        );
      }
    };
    // Announced as createExperiment does: the page's list takes it in.
    await t.server.announcer.experimentUpdated(Number(experiment.pk));
    for (const arm of Object.keys(accuracies)) {
      for (const seed of [0, 1, 2])
        if (!(arm === 'RL_ONLY' && seed === 2)) await seedDone(arm, seed);
    }
    const armsOf = async () =>
      (
        await gqlOk(
          t,
          `query($id: ID!) { experiment(id: $id) { arms { arm seedsDone meanAccuracy ciLow ciHigh computeUsed pValueVsStagewise } } }`,
          { id: experiment.id },
        )
      ).experiment.arms as {
        arm: string;
        seedsDone: number;
        meanAccuracy: number;
        ciLow: number;
        ciHigh: number;
        computeUsed: number;
        pValueVsStagewise: number | null;
      }[];
    const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
    /** What the page shows, read in one page-side call once every arm's whisker is drawn. */
    const shown = async (seedsOfLast: string) => {
      await page.locator('#arm-rows tr[data-arm="RL_ONLY"] td', { hasText: seedsOfLast }).waitFor();
      await page.waitForFunction(
        `document.getElementById('chart-experiment').dataset.whiskers === '3'`,
      );
      return page.$eval('#experiment', (section) => {
        const chart = section.querySelector('#chart-experiment')!;
        return {
          summary: section.querySelector('#experiment-summary')!.textContent,
          points: Number(chart.getAttribute('data-points')),
          whiskers: Number(chart.getAttribute('data-whiskers')),
          values: JSON.parse(chart.getAttribute('data-values') ?? '[]') as unknown[],
          rows: [...section.querySelectorAll('#arm-rows tr')].map((tr) =>
            [...tr.querySelectorAll('td')].map((td) => td.textContent),
          ),
        };
      });
    };
    const expected = (arms: Awaited<ReturnType<typeof armsOf>>) => ({
      values: arms.map((a) => [a.arm, a.meanAccuracy, a.ciLow, a.ciHigh]),
      rows: arms.map((a) => [
        a.arm,
        `${a.seedsDone}/3`,
        pct(a.meanAccuracy),
        `${pct(a.ciLow)}–${pct(a.ciHigh)}`,
        '9900',
        a.pValueVsStagewise === null ? '-' : a.pValueVsStagewise.toPrecision(2),
      ]),
    });

    await page.selectOption('#experiment-select', experiment.id);
    const before = await shown('2/3');
    const armsBefore = await armsOf();
    assert.match(before.summary, /^dash-experiment: ACTIVE · 3 seeds · budget 10000 tokens$/);
    assert.equal(before.points, 3, 'a point per arm');
    assert.equal(before.whiskers, 3, 'an interval per arm');
    assert.deepEqual({ values: before.values, rows: before.rows }, expected(armsBefore));
    assert.equal(before.rows[0][5], '-', 'no p-value of STAGEWISE against itself');
    assert.ok(
      armsBefore.every((a) => a.ciLow < a.meanAccuracy && a.meanAccuracy < a.ciHigh),
      JSON.stringify(armsBefore),
    );
    await assertTablesFit(['experiment']);

    // The last seed ends and the experiment with it: the page follows experimentUpdated.
    await seedDone('RL_ONLY', 2);
    await t.server.ds.query(
      `UPDATE experiments SET status = 'SUCCEEDED', updated_at = now() WHERE id = $1`,
      [experiment.pk],
    );
    await t.server.announcer.experimentUpdated(Number(experiment.pk));
    const after = await shown('3/3');
    assert.match(after.summary, /^dash-experiment: SUCCEEDED/);
    assert.deepEqual({ values: after.values, rows: after.rows }, expected(await armsOf()));
    assert.notDeepEqual(after.values[2], before.values[2], "RL_ONLY's figures moved");
  });

  it('the page loaded everything from the server, and never put the key in a URL', async () => {
    await sleep(200);
    await fs.promises.mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    assert.deepEqual(outside, []);
    assert.ok(requested.some((u) => u.endsWith('/dashboard/vendor/uPlot.iife.min.js')));
    assert.ok(requested.some((u) => u.endsWith('/graphql/stream')));
    for (const key of Object.values(t.keys)) {
      assert.ok(!requested.some((u) => u.includes(key)), 'no key in a request URL');
    }
  });
});
