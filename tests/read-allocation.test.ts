import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import v8 from 'node:v8';
import vm from 'node:vm';
import { startTestServer, type TestServer } from './helpers/test-server';
import { createDataset, importSamples, importTraces } from './helpers/seed';

/** The page the read benchmark times (bench/README.md): 100 samples, their first 10 traces. */
const BIG = `{ samples(first: 100) { edges { cursor node { id
  traces(first: 10) { id kind correct text } } } pageInfo { endCursor hasNextPage } } }`;

/**
 * Bytes the API may allocate to answer BIG once (about 270 KB of JSON): measured 3.1 MB in this
 * test process (4.1-4.2 MB before graphql-jit compiled global ids as leaves; 5.35 MB before reads
 * left out unselected columns and the lean path encoded the body once; 9.2-9.7 MB before lazy
 * timestamps and the lean path); PostGraphile allocates 8.5 MB for the same page. The read path
 * before the rework allocated 31 MB. The budget leaves a margin for library changes and fails on
 * a return of per-field middleware, entity hydration or a resolver per global id
 * (tests/read-columns checks which columns are read).
 */
const BUDGET_BYTES_PER_RESPONSE = 4e6;
const REQUESTS = 20;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** POSTs BIG and drops the body as it arrives, so the client side allocates next to nothing. */
function post(t: TestServer): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ query: BIG });
    const req = http.request(
      `${t.url}/graphql`,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${t.keys.read}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        res.on('end', () =>
          res.statusCode === 200 ? resolve(bytes) : reject(new Error(`status ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Heap bytes allocated while `work` runs: what every GC freed plus what is still held after. */
async function allocatedBy(work: () => Promise<void>): Promise<number> {
  gc();
  const profiler = new v8.GCProfiler();
  profiler.start();
  const before = v8.getHeapStatistics().used_heap_size;
  await work();
  gc();
  const after = v8.getHeapStatistics().used_heap_size;
  const { statistics } = profiler.stop();
  const freed = statistics.reduce(
    (sum, s) =>
      sum + s.beforeGC.heapStatistics.usedHeapSize - s.afterGC.heapStatistics.usedHeapSize,
    0,
  );
  return freed + after - before;
}

describe('read path allocation', () => {
  let t: TestServer;

  before(async () => {
    t = await startTestServer();
    const dataset = await createDataset(t, 'alloc');
    const samples = Array.from({ length: 100 }, (_, i) => ({
      externalId: `s${i}`,
      problem: `What is ${i} + ${i}? Show each step.`,
      answer: String(2 * i),
    }));
    for (let k = 0; k < samples.length; k += 50)
      await importSamples(t, dataset.id, samples.slice(k, k + 50));
    const traces = samples.flatMap((s, i) =>
      Array.from({ length: 10 }, (_, j) => ({
        sampleExternalId: s.externalId,
        kind: j % 2 ? ('ROLLOUT' as const) : ('TEACHER' as const),
        text: `Step ${j}: ${i} + ${i} = ${2 * i}. `.repeat(8) + `The answer is ${2 * i}.`,
      })),
    );
    for (let k = 0; k < traces.length; k += 200)
      await importTraces(t, dataset.id, traces.slice(k, k + 200));
  });
  after(() => t.close());

  it(`answers 100 samples with 10 traces each within ${BUDGET_BYTES_PER_RESPONSE / 1e6} MB of allocation`, async () => {
    const size = await post(t);
    assert.ok(size > 150_000, `the page is the full one (${size} bytes)`);
    for (let i = 0; i < 3; i++) await post(t); // warm: plans, prepared statements, caches
    const bytes = await allocatedBy(async () => {
      for (let i = 0; i < REQUESTS; i++) await post(t);
    });
    const perResponse = bytes / REQUESTS;
    console.log(`# ${(perResponse / 1e6).toFixed(2)} MB allocated per ${size}-byte response`);
    assert.ok(
      perResponse < BUDGET_BYTES_PER_RESPONSE,
      `${(perResponse / 1e6).toFixed(2)} MB allocated per response, budget ${BUDGET_BYTES_PER_RESPONSE / 1e6} MB`,
    );
  });
});
