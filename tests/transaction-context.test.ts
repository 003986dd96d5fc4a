import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DataSource } from 'typeorm';
import { createAppDataSource } from '../src/app/data-source';
import { withTransaction, type RequestContext } from '../src/common/request-context';
import { MasteryService } from '../src/modules/mastery/mastery.service';
import { SampleService } from '../src/modules/samples/sample.service';
import { TraceService } from '../src/modules/traces/trace.service';
import { TraceKind } from '../src/modules/traces/trace.entity';
import type { Announcer } from '../src/common/pubsub/announcer';
import { RunJournal } from '../src/modules/runs/run-journal';
import { RunEventType } from '../src/modules/runs/run-event.entity';
import type { StagedSample } from '../src/modules/samples/sample.import';
import type { StagedTrace } from '../src/modules/traces/trace.import';
import { createTestDatabase } from './helpers/test-server';

/**
 * The transaction travels in the context (ARCHITECTURE.md, "The request context"): a service
 * method called inside `withTransaction(ctx, …)` writes in that transaction, COPY imports
 * included, so what belongs together commits or rolls back together.
 */
describe('withTransaction(ctx, …): service methods join the context’s transaction', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let ds: DataSource;
  let ctx: RequestContext;
  let datasetId: number;
  const samples = new SampleService();
  const traces = new TraceService(new MasteryService());
  const sample: StagedSample = {
    line: 1,
    externalId: 's1',
    problem: 'What is 2+3?',
    answer: '5',
    domain: null,
    tags: [],
    metadata: {},
  };
  // Ungraded: the import grades it against the sample's answer.
  const trace: StagedTrace = {
    line: 1,
    sampleExternalId: 's1',
    externalId: null,
    kind: TraceKind.TEACHER,
    text: 'The answer is 5.',
    finalAnswer: null,
    correct: null,
    reward: null,
    graderVersion: null,
    producer: null,
    tokenCount: null,
    metadata: {},
  };
  const count = async (table: string) =>
    (await ds.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM ${table}`))[0].n;

  before(async () => {
    db = await createTestDatabase();
    ds = createAppDataSource(db.url);
    await ds.initialize();
    await ds.runMigrations({ transaction: 'each' });
    // The parts of a request's context these services use: the data source and the transaction.
    ctx = { ds } as RequestContext;
    [{ id: datasetId }] = await ds.query<{ id: number }[]>(
      `INSERT INTO datasets (name) VALUES ('d') RETURNING id`,
    );
  });
  after(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('rolls back a sample import and a trace import with the transaction they were called in', async () => {
    await assert.rejects(
      withTransaction(ctx, async (tx) => {
        const s = await samples.importInto(tx, datasetId, [sample]);
        assert.equal(s.inserted, 1);
        await traces.importInto(tx, datasetId, [trace]);
        assert.equal(await tx.manager.query('SELECT 1 FROM traces').then((r) => r.length), 1);
        throw new Error('what came after the imports failed');
      }),
      /came after the imports failed/,
    );
    assert.equal(await count('samples'), 0, 'the sample import rolled back with the caller');
    assert.equal(await count('traces'), 0, 'the trace import rolled back with the caller');
  });

  it('commits them together when the work succeeds', async () => {
    await withTransaction(ctx, async (tx) => {
      await samples.importInto(tx, datasetId, [sample]);
      await traces.importInto(tx, datasetId, [trace]);
    });
    assert.equal(await count('samples'), 1);
    assert.equal(await count('traces'), 1);
  });

  describe('the run journal', () => {
    /** What the journal announced, each with the run's events another connection saw then. */
    const heard: { what: string; committedEvents: number }[] = [];
    const committedEvents = async (runId: number) =>
      (
        await ds.query<{ n: number }[]>(
          'SELECT count(*)::int AS n FROM run_events WHERE run_id = $1',
          [runId],
        )
      )[0].n;
    const announcer: Announcer = {
      runEvents: async (runId: number) => {
        heard.push({ what: 'runEvents', committedEvents: await committedEvents(runId) });
      },
      runUpdated: async (runId: number) => {
        heard.push({ what: 'runUpdated', committedEvents: await committedEvents(runId) });
      },
      curriculumUpdated: () => Promise.resolve(),
      experimentUpdated: () => Promise.resolve(),
      apiKeyChanged: () => Promise.resolve(),
    };
    const journal = new RunJournal(announcer);
    const newRun = async () =>
      (
        await ds.query<{ id: number }[]>(
          `INSERT INTO runs (stage, status) VALUES ('SFT', 'QUEUED') RETURNING id`,
        )
      )[0].id;
    const log = (line: string) => [{ type: RunEventType.LOG, payload: { stream: 'stdout', line } }];

    it('joins the caller’s transaction and announces only after that commits', async () => {
      const runId = await newRun();
      heard.length = 0;
      await withTransaction(ctx, async (tx) => {
        await journal.locked(tx, runId, (r) => r.record(log('one')));
        await journal.locked(tx, runId, (r) => r.record(log('two')));
        assert.deepEqual(heard, [], 'nothing is announced inside the caller’s transaction');
      });
      // Both events committed before the first announcement went out.
      assert.deepEqual(heard, [
        { what: 'runEvents', committedEvents: 2 },
        { what: 'runUpdated', committedEvents: 2 },
        { what: 'runEvents', committedEvents: 2 },
        { what: 'runUpdated', committedEvents: 2 },
      ]);
    });

    it('rolls back with the caller’s transaction, announcing nothing', async () => {
      const runId = await newRun();
      heard.length = 0;
      await assert.rejects(
        withTransaction(ctx, async (tx) => {
          await journal.locked(tx, runId, (r) => r.record(log('one')));
          throw new Error('what came after the event failed');
        }),
        /came after the event failed/,
      );
      assert.equal(await committedEvents(runId), 0);
      assert.deepEqual(heard, []);
    });

    it('opens its own transaction for a context with none', async () => {
      const runId = await newRun();
      heard.length = 0;
      await journal.locked(ctx, runId, (r) => r.record(log('one')));
      assert.deepEqual(heard, [
        { what: 'runEvents', committedEvents: 1 },
        { what: 'runUpdated', committedEvents: 1 },
      ]);
    });
  });
});
