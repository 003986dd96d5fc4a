import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ExecutionGate } from '../src/app/execution-gate';

/** A promise with its resolve/reject handed out, so a test decides when work ends. */
function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('ExecutionGate', () => {
  it('runs at most `limit` at once and starts the waiting in arrival order', async () => {
    const gate = new ExecutionGate(2);
    const ends = Array.from({ length: 5 }, () => deferred());
    const started: number[] = [];
    let running = 0;
    let most = 0;
    const all = ends.map((end, i) =>
      gate.run(async () => {
        started.push(i);
        most = Math.max(most, ++running);
        await end.promise;
        running--;
        return i;
      }),
    );
    await tick();
    assert.deepEqual(started, [0, 1]);
    assert.deepEqual(gate.load, { running: 2, waiting: 3 });
    ends[1].resolve();
    await tick();
    assert.deepEqual(started, [0, 1, 2]);
    ends[0].resolve();
    await tick();
    assert.deepEqual(started, [0, 1, 2, 3]);
    for (const end of ends) end.resolve();
    assert.deepEqual(await Promise.all(all), [0, 1, 2, 3, 4]);
    assert.equal(most, 2);
    assert.deepEqual(gate.load, { running: 0, waiting: 0 });
  });

  it('gives the turn back when the work throws, and passes the error on', async () => {
    const gate = new ExecutionGate(1);
    const failed = gate.run(() => Promise.reject(new Error('boom')));
    const next = gate.run(() => Promise.resolve('served'));
    await assert.rejects(failed, /boom/);
    assert.equal(await next, 'served');
    assert.deepEqual(gate.load, { running: 0, waiting: 0 });
  });

  it('refuses a limit that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => new ExecutionGate(bad), RangeError);
    }
  });
});
