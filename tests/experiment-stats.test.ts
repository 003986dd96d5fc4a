import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  discordantPairs,
  mcnemarExact,
  tInterval95,
  tQuantile975,
} from '../src/modules/experiments/experiment.stats';

const close = (actual: number | null, expected: number, eps = 1e-6) =>
  assert.ok(actual !== null && Math.abs(actual - expected) < eps, `${actual} != ${expected}`);

describe('experiment statistics', () => {
  it('gives the 95% t-interval of three seeds: 0.3 ± 4.303·0.1/√3', () => {
    const ci = tInterval95([0.2, 0.3, 0.4]);
    close(ci.mean, 0.3);
    close(ci.low, 0.3 - (4.303 * 0.1) / Math.sqrt(3));
    close(ci.high, 0.3 + (4.303 * 0.1) / Math.sqrt(3));
  });

  it('gives no interval for one seed and a zero-width one for equal values', () => {
    assert.deepEqual(tInterval95([0.25]), { mean: 0.25, low: null, high: null });
    const flat = tInterval95([0.5, 0.5]);
    close(flat.low, 0.5);
    close(flat.high, 0.5);
  });

  it('uses the t quantile for small samples and the normal one past 30 degrees of freedom', () => {
    assert.equal(tQuantile975(1), 12.706);
    assert.equal(tQuantile975(2), 4.303);
    assert.equal(tQuantile975(100), 1.96);
    assert.throws(() => tQuantile975(0), RangeError);
  });

  it('gives the exact McNemar p-value of hand-computed cases', () => {
    close(mcnemarExact(0, 5), 2 / 32); // 2·(1/2)^5
    close(mcnemarExact(1, 9), (2 * 11) / 1024); // 2·(C(10,0)+C(10,1))/2^10
    close(mcnemarExact(9, 1), (2 * 11) / 1024); // symmetric
    assert.equal(mcnemarExact(5, 5), 1);
    assert.equal(mcnemarExact(0, 0), 1);
  });

  it('stays finite for thousands of discordant pairs', () => {
    const p = mcnemarExact(900, 1100);
    assert.ok(p > 0 && p < 1e-4, `p=${p}`);
  });

  it('counts discordant pairs seed by seed on the problems both arms were evaluated on', () => {
    const a = [
      new Map([
        ['p1', true],
        ['p2', true],
        ['p3', false],
      ]),
      new Map([['p1', false]]),
    ];
    const b = [
      new Map([
        ['p1', false],
        ['p2', true],
        ['p4', true],
      ]),
      new Map([['p1', true]]),
    ];
    assert.deepEqual(discordantPairs(a, b), { onlyA: 1, onlyB: 1, pairs: 3 });
  });
});
