import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir, removeTempDir } from './helpers/temp';
import { alive } from './helpers/processes';
import { until } from './helpers/launchers';

const CHECK = path.join(__dirname, '..', 'scripts', 'machine-check.js');

/**
 * scripts/machine-check.ts, the check scripts/test.sh runs after the tests: a snapshot, then a
 * process and a file made "by the tests" (they name the run's private temp dir), then compare.
 */
describe('machine-check: names what a test run left behind', () => {
  const work = tempDir('stagewise-machine-check-');
  const snapshot = path.join(work, 'before.json');
  // The run's private temp dir, as test.sh makes it.
  const privateTmp = path.join(work, 'run-tmp');
  let sleeper: ChildProcess | undefined;
  after(() => {
    sleeper?.kill('SIGKILL');
    removeTempDir(work);
  });
  const check = (...args: string[]) => {
    const res = spawnSync(process.execPath, [CHECK, ...args], { encoding: 'utf8' });
    return { code: res.status, stdout: res.stdout, stderr: res.stderr };
  };

  it('passes when the run left nothing', () => {
    fs.mkdirSync(privateTmp);
    assert.equal(check('snapshot', snapshot).code, 0);
    const res = check('compare', snapshot, '--private-tmp', privateTmp);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /left no process, temp file, mount or \/etc change behind/);
  });

  it('fails naming a process the run started and a folder it left in its temp dir', async () => {
    assert.equal(check('snapshot', snapshot).code, 0);
    // A "daemon" of the run: it inherited TMPDIR, as every child of the tests does.
    sleeper = spawn('sleep', ['600'], {
      env: { ...process.env, TMPDIR: privateTmp },
      stdio: 'ignore',
    });
    fs.mkdirSync(path.join(privateTmp, 'stagewise-runs-abc'));
    const res = check('compare', snapshot, '--private-tmp', privateTmp);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /left 2 thing\(s\) behind/);
    assert.match(res.stderr, new RegExp(`process ${sleeper.pid} still running: sleep 600\\n`));
    assert.match(res.stderr, /left in the temp dir: .*\/run-tmp\/stagewise-runs-abc\n/);

    // Once they are gone the same comparison passes.
    sleeper.kill('SIGKILL');
    const pid = sleeper.pid!;
    await until('the sleeper to end', () => !alive(pid));
    fs.rmdirSync(path.join(privateTmp, 'stagewise-runs-abc'));
    assert.equal(check('compare', snapshot, '--private-tmp', privateTmp).code, 0);
  });

  it('does not count a process of other work on the machine (it does not name the temp dir)', () => {
    assert.equal(check('snapshot', snapshot).code, 0);
    const other = spawn('sleep', ['600'], {
      env: { ...process.env, TMPDIR: work },
      stdio: 'ignore',
    });
    try {
      const res = check('compare', snapshot, '--private-tmp', privateTmp);
      assert.equal(res.code, 0, res.stderr);
    } finally {
      other.kill('SIGKILL');
    }
  });
});
