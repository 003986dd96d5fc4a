import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { SlurmLauncher } from '../src/launchers/slurm.launcher';
import { startTestServer, type TestServer } from './helpers/test-server';
import { gqlOk } from './helpers/seed';
import {
  getRun,
  loadTask,
  runEnv,
  runPk,
  sftInput,
  startRun,
  waitFor,
  waitForStatus,
} from './helpers/runs';
import { fillBlocks } from './helpers/fill-disk';

/**
 * The runs folder on a small tmpfs of its own, made full for real (its blocks, or its inodes).
 * Mounting needs root (and a kernel that lets this process mount): elsewhere the suite is skipped
 * with the reason; the runner's side is also covered without root by gpu-runner's
 * test_disk_full_on_cpu.py (/dev/full).
 */
const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stagewise-full-disk-'));

function mountTinyTmpfs(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to mount a small tmpfs as the runs folder';
  const mounted = spawnSync(
    'mount',
    ['-t', 'tmpfs', '-o', 'size=8m,nr_inodes=256,mode=0700', 'tmpfs', runsDir],
    { encoding: 'utf8' },
  );
  if (mounted.status !== 0) {
    return `cannot mount a tmpfs here: ${(mounted.stderr || mounted.error?.message || '').trim()}`;
  }
  return undefined;
}

const skip = mountTinyTmpfs();

/** Creates empty files in `dir` until no inode is left, then frees `keep` of them. */
function fillInodes(dir: string, keep: number): void {
  fs.mkdirSync(dir);
  const made: string[] = [];
  for (;;) {
    const file = path.join(dir, String(made.length));
    try {
      fs.closeSync(fs.openSync(file, 'w'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
      throw err;
    }
    made.push(file);
  }
  for (const file of made.slice(-keep)) fs.rmSync(file);
}

async function healthy(t: TestServer): Promise<boolean> {
  const res = await fetch(`${t.url}/healthz`);
  return res.status === 200;
}

async function checkpointNames(t: TestServer): Promise<string[]> {
  const data = await gqlOk<{ checkpoints: { nodes: { name: string }[] } }>(
    t,
    `{ checkpoints(first: 500) { nodes { name } } }`,
  );
  return data.checkpoints.nodes.map((c) => c.name);
}

describe('a full disk in the runs folder (a real tmpfs of 8 MiB and 256 inodes)', { skip }, () => {
  let t: TestServer;
  const workDir = (runId: string) => path.join(runsDir, `run-${runPk(runId)}-attempt-1`);

  before(async () => {
    t = await startTestServer(runEnv({ RUNS_DIR: runsDir }));
    await loadTask(t, 'arith-full-disk', 64);
  });
  after(async () => {
    await t?.close();
    if (!skip && spawnSync('umount', [runsDir]).status !== 0) spawnSync('umount', ['-l', runsDir]);
    fs.rmSync(runsDir, { recursive: true, force: true });
  });

  it('a run whose checkpoint meets a full disk FAILS saying no space left on device, registers nothing and leaves no partial checkpoint; the API stays up', async () => {
    const filler = path.join(runsDir, 'filler');
    fillBlocks(filler);
    try {
      const before = await checkpointNames(t);
      const queued = await startRun(t, sftInput({ checkpoint_name: 'sft-on-a-full-disk' }));
      const done = await waitForStatus(t, queued.id);
      assert.equal(done.status, 'FAILED', JSON.stringify(done));
      assert.match(
        done.error ?? '',
        /^no space left on device while writing checkpoint 'sft-on-a-full-disk'/,
      );
      assert.equal(done.outputCheckpoint, null);
      assert.deepEqual(await checkpointNames(t), before, 'no checkpoint was registered');
      const dir = path.join(workDir(queued.id), 'checkpoints');
      const left = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
      assert.deepEqual(left, [], 'the partial checkpoint was removed');
      assert.ok(await healthy(t), '/healthz answers 200');
      // The runner reports FAILED, then exits; until it has, it may hold files it removed (and
      // their inodes), which the next test counts on.
      const exited = await waitFor('the runner to exit', async () => {
        const run = await getRun(t, queued.id);
        return run.exitCode !== null && run;
      });
      assert.equal(exited.exitCode, 1);
    } finally {
      fs.rmSync(filler, { force: true });
    }
  });

  it('a run whose launcher cannot create its log files (no inode left) FAILS saying no space left on device; the API stays up', async () => {
    // One inode free: the run's work dir takes it, and the launcher's first log file finds none.
    const fillers = path.join(runsDir, 'inode-filler');
    fillInodes(fillers, 1);
    try {
      const queued = await startRun(t, sftInput());
      const done = await waitForStatus(t, queued.id);
      assert.equal(done.status, 'FAILED', JSON.stringify(done));
      assert.match(
        done.error ?? '',
        /^The local launcher could not start the runner: ENOSPC: no space left on device, open '.*stagewise-run-\d+\.out'/,
      );
      assert.ok(await healthy(t), '/healthz answers 200');
    } finally {
      fs.rmSync(fillers, { recursive: true, force: true });
    }
  });

  it('the Slurm launcher on a full disk refuses the launch with ENOSPC before submitting, and leaves no token file or half-written script', async () => {
    const filler = path.join(runsDir, 'filler');
    const workDir = path.join(runsDir, 'slurm-run-9');
    try {
      fs.mkdirSync(workDir);
      fillBlocks(filler);
      // No sbatch is reached: the binDir names none, so a submission would fail differently.
      const launcher = new SlurmLauncher({ binDir: path.join(runsDir, 'no-slurm-here') });
      const request = {
        runId: 9,
        runGlobalId: 'UnVuOjk',
        env: { STAGEWISE_RUN_ID: 'UnVuOjk', STAGEWISE_RUN_TOKEN: 'sw_runner_full_disk_token' },
        command: ['/usr/bin/python3', '-m', 'gpu_runner'],
        workDir,
      };
      await assert.rejects(launcher.launch(request, {}), /ENOSPC/);
      assert.deepEqual(fs.readdirSync(workDir), [], 'nothing is left in the work dir');
    } finally {
      fs.rmSync(filler, { force: true });
      fs.rmSync(workDir, { recursive: true, force: true });
    }
  });

  it('once space is back, the same API runs the next run to SUCCEEDED (no restart)', async () => {
    const queued = await startRun(t, sftInput());
    const done = await waitForStatus(t, queued.id);
    assert.equal(done.status, 'SUCCEEDED', done.error ?? '');
    assert.ok(done.outputCheckpoint);
  });
});
