import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
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

describe('an SFT run through a real single-node Slurm', () => {
  let t: TestServer;
  let slurm: PrivateSlurm;

  before(async () => {
    // A cluster of this file's own (munged, slurmctld, slurmd); the API reaches it by SLURM_CONF.
    slurm = startPrivateSlurm();
    t = await startTestServer(runEnv({ SLURM_CONF: slurm.conf }));
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
  });
});
