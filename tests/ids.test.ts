import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fromGlobalId, toGlobalId } from '../src/common/ids';

describe('global ids', () => {
  it('are the base64url of type:id, unpadded, for every length and character', () => {
    const keys: (string | number)[] = [
      1,
      7,
      42,
      '999',
      '1234567890123456789',
      0,
      'x?>',
      'é',
      '日本',
    ];
    for (let i = 0; i < 5000; i++) keys.push(i * 7919, String(i * 104729 + 3));
    for (const type of ['Sample', 'Trace', 'Run', 'WebhookDelivery', 'A']) {
      for (const key of keys) {
        assert.equal(
          toGlobalId(type, key),
          Buffer.from(`${type}:${key}`).toString('base64url'),
          `${type}:${key}`,
        );
      }
    }
  });

  it('decode to the type and key they were made of', () => {
    for (const id of ['1', '62', '63', '1000001', '9223372036854775807']) {
      assert.deepEqual(fromGlobalId(toGlobalId('Trace', id)), { type: 'Trace', id });
    }
  });
});
