import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { SlurmLauncher } from '../src/launchers/slurm.launcher';
import { recorder, until } from './helpers/launchers';
import { startPrivateSlurm, type PrivateSlurm } from './helpers/slurm';
import { tempDir, removeTempDir } from './helpers/temp';

/** Live processes whose command line or environment names `text`, as "pid command line". */
function processesNaming(text: string): string[] {
  const found: string[] = [];
  const read = (pid: string, file: string) => {
    try {
      return fs.readFileSync(`/proc/${pid}/${file}`, 'latin1');
    } catch {
      return ''; // gone, or not ours to read
    }
  };
  for (const pid of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    if (Number(pid) === process.pid) continue;
    const cmdline = read(pid, 'cmdline');
    if (!cmdline) continue; // a zombie, or gone
    if (cmdline.includes(text) || read(pid, 'environ').includes(text)) {
      found.push(`${pid} ${cmdline.split('\0').join(' ').trim()}`);
    }
  }
  return found;
}

/** Every file under /etc/slurm and /etc/munge with its size and mtime, to compare. */
function etcSnapshot(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    if (!fs.existsSync(dir)) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const st = fs.lstatSync(p);
        out.push(`${p} ${st.size} ${st.mtimeMs}`);
      }
    }
  };
  walk('/etc/slurm');
  walk('/etc/munge');
  return out.sort();
}

/**
 * scripts/start-slurm.sh DIR and scripts/stop-slurm.sh DIR (through tests/helpers/slurm.ts): a
 * cluster that lives in its own folder, is reached only through SLURM_CONF, and leaves nothing
 * behind.
 */
describe('a private Slurm: its own folder, its own daemons, nothing left when stopped', () => {
  let slurm: PrivateSlurm;
  let root: string;
  const etcBefore = etcSnapshot();

  before(() => {
    slurm = startPrivateSlurm();
    root = tempDir('stagewise-slurm-private-');
  });
  after(() => {
    slurm?.stop();
    removeTempDir(root);
  });

  it('runs munged, slurmctld and slurmd from its folder and writes nothing in /etc', () => {
    assert.ok(fs.existsSync(slurm.conf));
    const daemons = processesNaming(slurm.dir).join('\n');
    for (const name of ['munged', 'slurmctld', 'slurmd']) {
      assert.match(daemons, new RegExp(`\\b${name}\\b`), `${name} runs with this folder`);
    }
    const sinfo = execFileSync('sinfo', ['-h', '-o', '%P %T'], {
      encoding: 'utf8',
      env: { ...process.env, SLURM_CONF: slurm.conf },
    });
    assert.match(sinfo, /^debug\* (idle|mixed|allocated)/m);
    assert.deepEqual(etcSnapshot(), etcBefore);
  });

  it("the launcher's jobs go to the cluster its slurmConf names", async () => {
    const launcher = new SlurmLauncher({ pollMs: 200, slurmConf: slurm.conf });
    const rec = recorder();
    try {
      await launcher.launch(
        {
          runId: 1,
          runGlobalId: 'UnVuOjE',
          env: {},
          command: ['/bin/bash', '-c', 'echo "cluster=$SLURM_CLUSTER_NAME"'],
          workDir: path.join(root, 'run-1'),
        },
        rec.hooks,
      );
      const state = await rec.exited;
      assert.equal(state.exitCode, 0, JSON.stringify(state));
      // start-slurm.sh names its cluster "stagewise"; a machine-wide Slurm has another name.
      assert.deepEqual(
        rec.logs.map((l) => l.line),
        ['cluster=stagewise'],
      );
    } finally {
      await launcher.close();
    }
  });

  it('stop() ends every daemon and job of the cluster and removes its folder', async () => {
    const other = startPrivateSlurm();
    try {
      const sleeper = execFileSync(
        'sbatch',
        ['--parsable', `--chdir=${root}`, '--output=/dev/null', '--wrap', 'sleep 600'],
        { encoding: 'utf8', env: { ...process.env, SLURM_CONF: other.conf } },
      ).trim();
      assert.match(sleeper, /^\d+$/);
      // A job's processes carry SLURM_CONF: once it runs, they are among those naming the folder.
      await until(
        'the job to run',
        () => processesNaming(other.dir).some((p) => / sleep 600$/.test(p)),
        60_000,
        200,
      );
    } finally {
      other.stop();
    }
    assert.deepEqual(processesNaming(other.dir), []);
    assert.equal(fs.existsSync(other.dir), false);
    // The first cluster is another's: still there and answering.
    assert.ok(processesNaming(slurm.dir).length >= 3);
  });
});
