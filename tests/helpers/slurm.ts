/**
 * A private single-node Slurm for one test file: scripts/start-slurm.sh starts munged, slurmctld
 * and slurmd with a configuration in a folder of the test's own under the temp dir (free ports,
 * own munge key and socket), and stop() runs scripts/stop-slurm.sh, which stops every daemon and
 * job it started and removes the folder. Nothing is written to /etc, and a Slurm already on the
 * machine (or another test file's) is not touched. Call start in `before`, stop in `after`.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { repoRoot } from './processes';
import { tempDir, removeTempDir } from './temp';

export interface PrivateSlurm {
  /** The cluster's folder (config, state, spool, logs, munge). */
  dir: string;
  /** Its slurm.conf: SLURM_CONF for the launcher (the API's SLURM_CONF setting) and commands. */
  conf: string;
  /** Stops its daemons and jobs and removes its folder; safe to call twice. */
  stop(): void;
}

function script(name: string): string {
  return path.join(repoRoot(), 'scripts', name);
}

export function startPrivateSlurm(): PrivateSlurm {
  const dir = tempDir('stagewise-slurm-');
  let stopped = false;
  const runStop = () => {
    stopped = true;
    process.off('exit', runStop);
    const res = spawnSync('bash', [script('stop-slurm.sh'), dir], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    removeTempDir(dir);
    return res;
  };
  // A test that fails (or a file cut short) before its `after` must not leave the daemons running.
  process.on('exit', runStop);
  const stop = () => {
    if (stopped) return;
    const res = runStop();
    assert.equal(res.status, 0, `stop-slurm.sh failed:\n${res.stdout}${res.stderr}`);
  };
  const started = spawnSync('bash', [script('start-slurm.sh'), dir], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (started.status !== 0) {
    stop();
    assert.fail(`start-slurm.sh failed:\n${started.stdout}${started.stderr}`);
  }
  return { dir, conf: path.join(dir, 'slurm.conf'), stop };
}
