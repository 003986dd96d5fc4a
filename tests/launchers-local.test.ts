import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { createLauncher, LAUNCHER_NAMES, LocalLauncher } from '../src/launchers';
import type { LaunchRequest } from '../src/launchers/launcher';
import { alive, groupMembers } from './helpers/processes';
import { recorder, sleep, until } from './helpers/launchers';

describe('local launcher', () => {
  let root: string;
  let n = 0;
  const launcher = new LocalLauncher({ reapGroupAfterExitMs: 200, logPollMs: 50 });
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
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'stagewise-local-'));
  });
  after(async () => {
    await launcher.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('runs the command in its work dir with the env, and reports its lines and exit code once', async () => {
    const rec = recorder();
    const req = request(
      [
        '/bin/bash',
        '-c',
        'echo "cwd=$PWD"; echo "run=$STAGEWISE_RUN_ID quote=$Q"; echo "to stderr" >&2; printf "no newline"; exit 3',
      ],
      { Q: `it's "quoted"` },
    );
    const job = await launcher.launch(req, rec.hooks);
    assert.match(job.externalId, /^\d+:\d+$/);
    const state = await rec.exited;
    assert.deepEqual(state, { state: 'EXITED', exitCode: 3, signal: null });
    assert.deepEqual(
      rec.logs.filter((l) => l.stream === 'stdout').map((l) => l.line),
      [`cwd=${req.workDir}`, `run=${req.env.STAGEWISE_RUN_ID} quote=it's "quoted"`, 'no newline'],
    );
    assert.deepEqual(
      rec.logs.filter((l) => l.stream === 'stderr'),
      [{ stream: 'stderr', line: 'to stderr' }],
    );
    await sleep(100);
    assert.equal(rec.exits.length, 1);
    assert.deepEqual(await launcher.status(job.externalId), state);
  });

  it('reports a signal death as signal, not exit code', async () => {
    const rec = recorder();
    await launcher.launch(request(['/bin/bash', '-c', 'kill -KILL $$']), rec.hooks);
    assert.deepEqual(await rec.exited, { state: 'EXITED', exitCode: null, signal: 'SIGKILL' });
  });

  it('rejects a command that cannot start', async () => {
    await assert.rejects(
      launcher.launch(request([path.join(os.tmpdir(), 'no-such-binary-here')]), {}),
      /ENOENT/,
    );
  });

  it('tells the state of a pid started by an earlier API process, and a reused or zombie pid', async () => {
    const rec = recorder();
    const job = await launcher.launch(request(['/bin/bash', '-c', 'sleep 0.8']), rec.hooks);
    const fresh = new LocalLauncher(); // knows nothing of the job: like a restarted API
    assert.deepEqual(await fresh.status(job.externalId), { state: 'RUNNING' });
    const [pid, start] = job.externalId.split(':');
    const reused = await fresh.status(`${pid}:${Number(start) + 1}`);
    assert.equal(reused.state, 'EXITED');
    assert.match(reused.reason!, /another process/);
    await rec.exited;
    const gone = await fresh.status(job.externalId);
    assert.equal(gone.state, 'EXITED');
    assert.equal(gone.exitCode, null);
    assert.match(gone.reason!, /gone/);

    // A zombie: a child whose parent (exec'd into sleep) never reaps it.
    const parent = spawn('/bin/bash', ['-c', 'sleep 0.3 & echo $!; exec sleep 5'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      const childPid = await new Promise<number>((resolve) =>
        parent.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim()))),
      );
      const stat = fs.readFileSync(`/proc/${childPid}/stat`, 'utf8');
      const childStart = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
      const id = `${childPid}:${childStart}`;
      assert.deepEqual(await fresh.status(id), { state: 'RUNNING' });
      await until('the zombie', () => !alive(childPid));
      const zombie = await fresh.status(id);
      assert.equal(zombie.state, 'EXITED');
      assert.match(zombie.reason!, /zombie/);
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('keeps a runner alive after the API process that started it is gone; its log is in the work dir', async () => {
    const req = request([
      '/bin/bash',
      '-c',
      'sleep 0.5; echo "after the API died"; sleep 0.3; exit 4',
    ]);
    // Another node process launches the runner and exits at once, like an API that crashed.
    const api = spawnSync(
      process.execPath,
      [
        '-e',
        `const { LocalLauncher } = require(${JSON.stringify(require.resolve('../src/launchers/local.launcher'))});
         new LocalLauncher().launch(${JSON.stringify(req)}, {}).then((j) => {
           console.log(j.externalId);
           process.exit(0);
         });`,
      ],
      { encoding: 'utf8', timeout: 10_000 },
    );
    assert.equal(api.status, 0, api.stderr);
    const externalId = api.stdout.trim();
    const fresh = new LocalLauncher();
    assert.deepEqual(await fresh.status(externalId), { state: 'RUNNING' });
    const pid = Number(externalId.split(':')[0]);
    await until('the runner to end', () => !alive(pid), 5000);
    const ended = await fresh.status(externalId);
    assert.equal(ended.state, 'EXITED');
    const { out } = LocalLauncher.logFiles(req);
    assert.equal(fs.readFileSync(out, 'utf8'), 'after the API died\n');
  });

  it('cancels the whole process group: SIGTERM, then SIGKILL after the grace period; no orphan survives', async () => {
    const rec = recorder();
    const job = await launcher.launch(
      request([
        '/bin/bash',
        '-c',
        // The script and its child both ignore SIGTERM (an ignored signal survives exec).
        `trap '' TERM; sleep 1000 & echo "child=$!"; bash -c 'sleep 1000' & wait`,
      ]),
      rec.hooks,
    );
    const pid = Number(job.externalId.split(':')[0]);
    await until('the child', () => rec.logs.some((l) => l.line.startsWith('child=')));
    await until('three processes in the group', () => groupMembers(pid).length >= 3);
    const t0 = Date.now();
    await launcher.cancel(job.externalId, 500);
    const took = Date.now() - t0;
    assert.ok(took >= 450, `SIGKILL came only after the grace period (${took} ms)`);
    assert.deepEqual(groupMembers(pid), [], 'no process of the group is left');
    const childPid = Number(rec.logs.find((l) => l.line.startsWith('child='))!.line.slice(6));
    assert.equal(alive(childPid), false);
    assert.deepEqual(await rec.exited, { state: 'EXITED', exitCode: null, signal: 'SIGKILL' });
  });

  it('cancels a runner that obeys SIGTERM without waiting for the grace period, from another API process too', async () => {
    const rec = recorder();
    const job = await launcher.launch(
      request(['/bin/bash', '-c', 'sleep 1000 & echo started; wait']),
      rec.hooks,
    );
    await until('start', () => rec.logs.length > 0);
    const pid = Number(job.externalId.split(':')[0]);
    const t0 = Date.now();
    await new LocalLauncher().cancel(job.externalId, 10_000);
    assert.ok(Date.now() - t0 < 5000);
    assert.deepEqual(groupMembers(pid), []);
    assert.deepEqual(await rec.exited, { state: 'EXITED', exitCode: null, signal: 'SIGTERM' });
    // Cancelling again, or a job long gone, is harmless.
    await launcher.cancel(job.externalId, 100);
  });

  it('stops what the runner left behind in its group when it exits', async () => {
    const rec = recorder();
    const job = await launcher.launch(
      request(['/bin/bash', '-c', `trap '' TERM; sleep 1000 & echo "left=$!"; exit 0`]),
      rec.hooks,
    );
    const pid = Number(job.externalId.split(':')[0]);
    assert.deepEqual(await rec.exited, { state: 'EXITED', exitCode: 0, signal: null });
    await until('the group to be empty', () => groupMembers(pid).length === 0, 3000);
    const left = Number(rec.logs.find((l) => l.line.startsWith('left='))!.line.slice(5));
    assert.equal(alive(left), false);
  });

  it('makes launchers by name', () => {
    assert.deepEqual([...LAUNCHER_NAMES], ['local', 'slurm', 'kubernetes']);
    assert.ok(createLauncher('local') instanceof LocalLauncher);
    assert.equal(createLauncher('slurm', { partition: 'debug' }).name, 'slurm');
    assert.equal(createLauncher('kubernetes', { image: 'stagewise/runner:1' }).name, 'kubernetes');
    assert.throws(() => createLauncher('nope' as 'local'), /unknown launcher/);
  });
});
