/**
 * The read path keeps timestamps as the text PostgreSQL sent and parses them when first read
 * (src/common/db/lazy-timestamps.ts). What a client sees must not change: the same instant, on
 * the root page and on a nested list, and a row still behaves as its entity.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LoaderRegistry } from '../src/common/loaders';
import { Sample } from '../src/modules/samples/sample.entity';
import { Trace } from '../src/modules/traces/trace.entity';
import { startTestServer, type TestServer } from './helpers/test-server';
import {
  createDataset,
  gqlOk,
  importSamples,
  importTraces,
  sampleRefs,
  type Ref,
} from './helpers/seed';

// Microseconds and a non-UTC offset: the parse has to round and shift as pg's eager one does.
const STORED = '2026-01-02 03:04:05.678901+02';
const AS_ISO = '2026-01-02T01:04:05.678Z';

describe('timestamps read lazily', () => {
  let t: TestServer;
  let sample: Ref;

  before(async () => {
    t = await startTestServer();
    const dataset = await createDataset(t, 'lazy-ts');
    await importSamples(t, dataset.id, [{ externalId: 's1', problem: 'p1' }]);
    await importTraces(t, dataset.id, [{ sampleExternalId: 's1', kind: 'TEACHER', text: 't1' }]);
    sample = (await sampleRefs(t, dataset)).get('s1')!;
    await t.server.ds.query('UPDATE samples SET created_at = $1 WHERE id = $2', [
      STORED,
      sample.pk,
    ]);
    await t.server.ds.query('UPDATE traces SET created_at = $1 WHERE sample_id = $2', [
      STORED,
      sample.pk,
    ]);
  });
  after(() => t?.close());

  it('answers the stored instant on the root page and on nested traces', async () => {
    const data = await gqlOk<{
      samples: { nodes: { createdAt: string; traces: { createdAt: string }[] }[] };
    }>(t, `{ samples(first: 5) { nodes { createdAt traces(first: 5) { createdAt } } } }`);
    assert.deepEqual(data.samples.nodes, [{ createdAt: AS_ISO, traces: [{ createdAt: AS_ISO }] }]);
  });

  it('gives loaded rows a Date on read, keeps what is written, and keeps the entity', async () => {
    const loaders = new LoaderRegistry(t.server.ds);
    const row = await loaders.byId(Sample).load(sample.pk);
    assert.ok(row instanceof Sample);
    assert.ok(row.createdAt instanceof Date);
    assert.equal(row.createdAt.toISOString(), AS_ISO);
    assert.equal(row.createdAt, row.createdAt, 'parsed once, then the same Date');
    const later = new Date('2027-01-01T00:00:00Z');
    row.createdAt = later;
    assert.equal(row.createdAt, later);

    const [trace] = await loaders.childrenBy(Trace, 'sampleId', { first: 5 }).load(sample.pk);
    assert.ok(trace instanceof Trace);
    assert.equal(trace.createdAt.toISOString(), AS_ISO);
  });
});
