/**
 * The consumer's end of a run event stream (src/modules/runs/event-outlet.ts): items in the
 * order put, whether the consumer was waiting or not; the producer's end and error after the
 * items; drained() for backpressure; return() ending pending calls and running the close hook.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventOutlet } from '../src/modules/runs/event-outlet';

const value = (v: number) => ({ done: false, value: v });
const done = { done: true, value: undefined };

describe('EventOutlet', () => {
  it('hands items to waiting and later calls of next() in the order put, then ends', async () => {
    const outlet = new EventOutlet<number>(() => Promise.resolve());
    const first = outlet.next();
    const second = outlet.next(); // overlapping calls are answered in order
    outlet.put(1);
    outlet.put(2);
    outlet.put(3);
    outlet.put(4);
    assert.equal(outlet.backlog, 2);
    outlet.finish();
    assert.deepEqual(await first, value(1));
    assert.deepEqual(await second, value(2));
    assert.deepEqual(await outlet.next(), value(3));
    assert.deepEqual(await outlet.next(), value(4));
    assert.deepEqual(await outlet.next(), done);
    assert.deepEqual(await outlet.next(), done);
  });

  it('fails the first call after the items with the producer error, then is done', async () => {
    const outlet = new EventOutlet<number>(() => Promise.resolve());
    outlet.put(1);
    outlet.finish(new Error('read failed'));
    assert.deepEqual(await outlet.next(), value(1));
    await assert.rejects(outlet.next(), /read failed/);
    assert.deepEqual(await outlet.next(), done);
  });

  it('drained() waits until the consumer has taken every item', async () => {
    const outlet = new EventOutlet<number>(() => Promise.resolve());
    outlet.put(1);
    outlet.put(2);
    let drained = false;
    const waiting = outlet.drained().then(() => (drained = true));
    await outlet.next();
    await Promise.resolve();
    assert.equal(drained, false, 'one item is still there');
    await outlet.next();
    await waiting;
    assert.equal(drained, true);
  });

  it('return() ends pending calls, drops the backlog, releases drained() and awaits its hook', async () => {
    let closed = 0;
    const outlet = new EventOutlet<number>(async () => {
      await new Promise((resolve) => setImmediate(resolve));
      closed += 1;
    });
    const pending = outlet.next();
    outlet.put(1);
    outlet.put(2);
    const drained = outlet.drained();
    assert.deepEqual(await pending, value(1));
    const next = outlet.next();
    assert.deepEqual(await next, value(2));
    const later = outlet.next();
    assert.deepEqual(await outlet.return(), done);
    assert.equal(closed, 1, 'return() waited for the hook');
    assert.deepEqual(await later, done);
    await drained;
    outlet.put(3); // the producer may still put: nothing more is handed over
    assert.deepEqual(await outlet.next(), done);
    await outlet.return();
    assert.equal(closed, 1, 'the hook runs once');
  });
});
