import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  SlurmLauncher,
  buildBatchScript,
  parseScontrolJob,
  tokenFileOfScript,
} from '../src/launchers/slurm.launcher';
import type { LaunchRequest } from '../src/launchers/launcher';
import { alive } from './helpers/processes';
import { recorder, sleep, until as untilEvery } from './helpers/launchers';
import { startPrivateSlurm, type PrivateSlurm } from './helpers/slurm';
import { tempDir, removeTempDir } from './helpers/temp';

/** Slurm answers in seconds, not milliseconds: wait longer and ask less often. */
const until = <T>(
  what: string,
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 30_000,
) => untilEvery(what, fn, ms, 100);

describe('slurm launcher (a real single-node Slurm of its own, started by scripts/start-slurm.sh)', () => {
  let root: string;
  let n = 1000;
  let slurm: PrivateSlurm;
  let launcher: SlurmLauncher;
  const request = (command: string[], env: Record<string, string> = {}): LaunchRequest => {
    n += 1;
    return {
      runId: n,
      runGlobalId: `UnVuOj${n}`,
      env: { STAGEWISE_RUN_ID: `UnVuOj${n}`, ...env },
      command,
      workDir: path.join(root, `run-${n}`),
    };
  };

  before(() => {
    slurm = startPrivateSlurm();
    launcher = new SlurmLauncher({
      pollMs: 200,
      timeLimit: 10,
      cancelWaitMs: 30_000,
      slurmConf: slurm.conf,
    });
    // Slurm runs jobs as root here; the work dirs must be where slurmd can write.
    root = tempDir('stagewise-slurm-runs-');
  });
  after(async () => {
    await launcher?.close();
    slurm?.stop();
    removeTempDir(root);
  });

  it('writes a batch script that exports the env and execs the command', () => {
    const script = buildBatchScript({
      runId: 7,
      runGlobalId: 'UnVuOjc',
      env: { A: `it's "q" $HOME` },
      command: ['/usr/bin/python3', '-m', 'gpu_runner'],
      workDir: '/tmp/w d',
    });
    assert.match(script, /^#!\/bin\/bash\n/);
    assert.match(script, /\nexport A='it'\\''s "q" \$HOME'\n/);
    assert.match(script, /\ncd '\/tmp\/w d' \|\| exit 127\n/);
    assert.match(script, /\nexec '\/usr\/bin\/python3' '-m' 'gpu_runner'\n$/);
    assert.throws(
      () =>
        buildBatchScript({
          runId: 1,
          runGlobalId: 'x',
          env: { 'A-B': '1' },
          command: ['x'],
          workDir: '/',
        }),
      /invalid env name/,
    );
    assert.deepEqual(parseScontrolJob('JobId=5 JobState=CANCELLED Reason=None ExitCode=0:9'), {
      state: 'CANCELLED',
      reason: undefined,
      exitCode: null,
      signal: 'SIGKILL',
    });
  });

  it('runs a job that prints lines and exits 3: the lines reach onLog, exit code 3 reaches onExit', async () => {
    const rec = recorder();
    const req = request(
      [
        '/bin/bash',
        '-c',
        'echo "first line"; echo "cwd=$PWD q=$Q"; echo "on stderr" >&2; echo "job=$SLURM_JOB_NAME"; exit 3',
      ],
      { Q: `it's "quoted" $HOME` },
    );
    const job = await launcher.launch(req, rec.hooks);
    assert.match(job.externalId, /^\d+$/);
    const state = await rec.exited;
    assert.equal(state.exitCode, 3);
    assert.equal(state.signal, null);
    assert.match(state.reason!, /^FAILED/);
    assert.deepEqual(
      rec.logs.filter((l) => l.stream === 'stdout').map((l) => l.line),
      ['first line', `cwd=${req.workDir} q=it's "quoted" $HOME`, `job=stagewise-run-${req.runId}`],
    );
    assert.deepEqual(
      rec.logs.filter((l) => l.stream === 'stderr').map((l) => l.line),
      ['on stderr'],
    );
    assert.ok(fs.existsSync(path.join(req.workDir, `slurm-${job.externalId}.out`)));
    await sleep(500);
    assert.equal(rec.exits.length, 1, 'onExit once');
    const again = await launcher.status(job.externalId);
    assert.equal(again.state, 'EXITED');
    assert.equal(again.exitCode, 3);
  });

  it('reports a job that succeeds as exit code 0 COMPLETED, with lines written while it ran', async () => {
    const rec = recorder();
    const job = await launcher.launch(
      request(['/bin/bash', '-c', 'echo early; sleep 1.5; echo late']),
      rec.hooks,
    );
    await until('the early line while it runs', () => rec.logs.some((l) => l.line === 'early'));
    assert.equal((await launcher.status(job.externalId)).state, 'RUNNING');
    assert.equal(rec.exits.length, 0);
    const state = await rec.exited;
    assert.deepEqual(state, { state: 'EXITED', exitCode: 0, signal: null, reason: 'COMPLETED' });
    assert.deepEqual(
      rec.logs.map((l) => l.line),
      ['early', 'late'],
    );
  });

  it('cancels a long job that ignores SIGTERM: it ends CANCELLED and none of its processes remains', async () => {
    const rec = recorder();
    const req = request([
      '/bin/bash',
      '-c',
      `trap '' TERM; echo $$ > pids; sleep 1000 & echo $! >> pids; echo started; wait`,
    ]);
    const job = await launcher.launch(req, rec.hooks);
    const pidFile = path.join(req.workDir, 'pids');
    const pids = await until('the job to start', () => {
      const text = fs.existsSync(pidFile) ? fs.readFileSync(pidFile, 'utf8').trim() : '';
      return text.split('\n').length === 2 ? text.split('\n').map(Number) : undefined;
    });
    assert.ok(pids.every(alive));
    assert.equal((await launcher.status(job.externalId)).state, 'RUNNING');
    await launcher.cancel(job.externalId, 1000);
    const state = await launcher.status(job.externalId);
    assert.equal(state.state, 'EXITED');
    assert.match(state.reason!, /^CANCELLED/);
    // slurmd kills the processes before it reports the job ended; allow the kernel a moment.
    await until('the processes to be gone', () => !pids.some(alive), 5000);
    const exited = await rec.exited;
    assert.match(exited.reason!, /^CANCELLED/);
    assert.ok(rec.logs.some((l) => l.line === 'started'));
  });

  it('cancels a job that obeys SIGTERM within the grace period', async () => {
    const rec = recorder();
    const req = request(['/bin/bash', '-c', `echo $$ > pid; sleep 1000`]);
    const job = await launcher.launch(req, rec.hooks);
    const pidFile = path.join(req.workDir, 'pid');
    const pid = await until('the job to start', () =>
      fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8').trim()
        ? Number(fs.readFileSync(pidFile, 'utf8'))
        : undefined,
    );
    const t0 = Date.now();
    await launcher.cancel(job.externalId, 20_000);
    assert.ok(Date.now() - t0 < 15_000, 'did not wait for the whole grace period');
    const state = await rec.exited;
    assert.equal(state.state, 'EXITED');
    assert.equal(state.signal, 'SIGTERM');
    await until('the process to be gone', () => !alive(pid), 5000);
  });

  it('writes no runner token into the batch script: it names a token file instead', () => {
    const token = `sw_runner_${randomBytes(12).toString('hex')}`;
    const req: LaunchRequest = {
      runId: 8,
      runGlobalId: 'UnVuOjg',
      env: { STAGEWISE_RUN_ID: 'UnVuOjg', STAGEWISE_RUN_TOKEN: token },
      command: ['/usr/bin/python3', '-m', 'gpu_runner'],
      workDir: '/tmp/w',
    };
    const script = buildBatchScript(req);
    assert.ok(!script.includes(token), script);
    assert.doesNotMatch(script, /STAGEWISE_RUN_TOKEN=/);
    assert.match(script, /\nexport STAGEWISE_RUN_TOKEN_FILE='\/tmp\/w\/stagewise-run-8\.token'\n/);
  });

  it('hands the token to the job in a 0600 file, leaves it in no file of the work dir, and removes the file when the job ends', async () => {
    const token = `sw_runner_${randomBytes(12).toString('hex')}`;
    const rec = recorder();
    // The job proves it can read the token without printing it: its hash and the file's mode.
    const req = request(
      [
        '/bin/bash',
        '-c',
        'echo "mode=$(stat -c %a "$STAGEWISE_RUN_TOKEN_FILE") sha=$(sha256sum < "$STAGEWISE_RUN_TOKEN_FILE" | cut -c1-64)"; echo "env=${STAGEWISE_RUN_TOKEN:-unset}"; sleep 1',
      ],
      { STAGEWISE_RUN_TOKEN: token },
    );
    const job = await launcher.launch(req, rec.hooks);
    const files = SlurmLauncher.files(req);
    const script = fs.readFileSync(files.script, 'utf8');
    assert.ok(!script.includes(token), 'the token is not in the batch script');
    const state = await rec.exited;
    assert.equal(state.exitCode, 0, JSON.stringify(rec.logs));
    const sha = createHash('sha256').update(token).digest('hex');
    assert.deepEqual(
      rec.logs.map((l) => l.line),
      [`mode=600 sha=${sha}`, 'env=unset'],
    );
    assert.equal(fs.existsSync(files.token), false, 'the token file is removed when the job ends');
    for (const name of fs.readdirSync(req.workDir)) {
      const text = fs.readFileSync(path.join(req.workDir, name), 'utf8');
      assert.ok(!text.includes(token), `${name} holds the token`);
    }
    const stored = spawnSync('scontrol', ['write', 'batch_script', job.externalId, '-'], {
      encoding: 'utf8',
      env: { ...process.env, SLURM_CONF: slurm.conf },
    });
    assert.equal(stored.status, 0, stored.stderr);
    assert.match(stored.stdout, /export STAGEWISE_RUN_TOKEN_FILE=/);
    assert.ok(!stored.stdout.includes(token), "the token is not in Slurm's copy of the script");
  });

  it('removes the token file of a job another API process launched, once Slurm reports it ended', async () => {
    const earlier = new SlurmLauncher({ pollMs: 60_000, slurmConf: slurm.conf });
    // This job never reads its token file (a runner would remove it itself).
    const req = request(['/bin/bash', '-c', 'sleep 1'], {
      STAGEWISE_RUN_TOKEN: `sw_runner_${randomBytes(12).toString('hex')}`,
    });
    const job = await earlier.launch(req, {});
    await earlier.close(); // that API process is gone; this launcher adopts the job
    const token = SlurmLauncher.files(req).token;
    assert.ok(fs.existsSync(token), 'the token file waits for the job');
    await until(
      'the job to end',
      async () => (await launcher.status(job.externalId)).state === 'EXITED',
    );
    assert.equal(fs.existsSync(token), false, 'removed when the job was seen ended');
    assert.equal(tokenFileOfScript('/w/stagewise-run-3.sbatch'), '/w/stagewise-run-3.token');
    assert.equal(tokenFileOfScript('/w/other.sbatch'), undefined);
  });

  it('answers the status of an unknown job id without throwing', async () => {
    for (const id of ['99999999', 'not-a-job']) {
      const state = await launcher.status(id);
      assert.ok(state.state === 'UNKNOWN' || state.state === 'EXITED', JSON.stringify(state));
      if (state.state === 'EXITED') assert.ok(state.reason, 'says why');
    }
    await launcher.cancel('99999999', 100);
  });
});
