import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hintFraction, splitHint } from '../src/modules/bridge/bridge.hint';
import type { RoutingPolicy } from '../src/modules/routing/routing-policy.entity';

const policy = (bridgeOptions: Record<string, unknown>) => ({ bridgeOptions }) as RoutingPolicy;

describe('the hint bridge', () => {
  it('splits a trace at step boundaries and never gives away the final answer', () => {
    const trace = '12+7=19. 19-5=14. 14+2=16. Answer: 16';
    assert.deepEqual(splitHint(trace, 0), { hint: '', rest: trace });
    assert.deepEqual(splitHint(trace, 0.5), {
      hint: '12+7=19. ',
      rest: '19-5=14. 14+2=16. Answer: 16',
    });
    assert.deepEqual(splitHint(trace, 1), {
      hint: '12+7=19. 19-5=14. 14+2=16. ',
      rest: 'Answer: 16',
    });
    assert.deepEqual(splitHint('Answer: 3', 1), { hint: '', rest: 'Answer: 3' });
    const lines = 'first line\nsecond line\nAnswer: 2';
    assert.equal(splitHint(lines, 1).hint + splitHint(lines, 1).rest, lines);
  });

  it('anneals the fraction linearly over the rounds, within the policy’s bounds', () => {
    const p = policy({ hintFractionStart: 0.8, hintFractionEnd: 0.2 });
    assert.deepEqual(
      [1, 2, 3, 4].map((r) => Number(hintFraction(p, r, 4).toFixed(6))),
      [0.8, 0.6, 0.4, 0.2],
    );
    assert.equal(hintFraction(policy({}), 1, 3), 0.5);
    assert.equal(hintFraction(policy({}), 3, 3), 0);
    assert.equal(
      hintFraction(policy({ hintFractionStart: 7 }), 1, 1),
      0.5,
      'out of range: default',
    );
  });
});
