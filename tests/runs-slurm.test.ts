import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startTestServer, type TestServer } from './helpers/test-server';
import {
  loadTask,
  runEnv,
  runEvents,
  sftInput,
  startRun,
  statusesOf,
  waitForStatus,
} from './helpers/runs';
import { startPrivateSlurm, type PrivateSlurm } from './helpers/slurm';

/** An API key as the API makes them (runner tokens included): sw_ and 24 random bytes, base64url. */
const API_KEY = /sw_[A-Za-z0-9_-]{32}/;

function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)],
    );
}

describe('an SFT run through a real single-node Slurm', () => {
  let t: TestServer;
  let slurm: PrivateSlurm;
  let runsDir: string;

  before(async () => {
    // A cluster of this file's own (munged, slurmctld, slurmd); the API reaches it by SLURM_CONF.
    slurm = startPrivateSlurm();
    const env = runEnv({ SLURM_CONF: slurm.conf });
    runsDir = env.RUNS_DIR;
    t = await startTestServer(env);
    await loadTask(t, 'arith-slurm', 100);
  });
  after(async () => {
    await t?.close();
    slurm?.stop();
  });

  it('runs the real runner as a Slurm job from QUEUED to SUCCEEDED with its checkpoint', async () => {
    const queued = await startRun(t, { ...sftInput({ steps: 20 }, 48), launcher: 'SLURM' });
    const done = await waitForStatus(t, queued.id, undefined, 240_000);
    assert.equal(done.status, 'SUCCEEDED', JSON.stringify(done));
    assert.match(String(done.externalId), /^[0-9]+$/, 'a Slurm job id');
    const events = await runEvents(t, queued.id);
    assert.deepEqual(statusesOf(events), ['QUEUED', 'STARTING', 'RUNNING', 'SUCCEEDED']);
    assert.deepEqual(
      events.map((e) => e.seq),
      events.map((_, i) => i + 1),
    );
    const { data } = await t.gql(`query($id: ID!) { run(id: $id) { outputCheckpoint { name } } }`, {
      id: queued.id,
    });
    assert.ok(data.run.outputCheckpoint?.name, 'the run registered its checkpoint');
    // The runner read its token from the token file: the batch script names the file, and no
    // file of the run's folder (script, Slurm's output, checkpoint) holds a key; the file is gone.
    const files = filesUnder(runsDir);
    const script = files.find((f) => f.endsWith('.sbatch'));
    assert.ok(script, `a batch script among ${files.join(', ')}`);
    assert.match(fs.readFileSync(script, 'utf8'), /\nexport STAGEWISE_RUN_TOKEN_FILE=/);
    assert.deepEqual(
      files.filter((f) => f.endsWith('.token')),
      [],
      'the token file is removed',
    );
    for (const file of files) {
      assert.doesNotMatch(fs.readFileSync(file, 'latin1'), API_KEY, `${file} holds a key`);
    }
  });
});
