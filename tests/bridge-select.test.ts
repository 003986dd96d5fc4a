import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DataSource } from 'typeorm';
import { createAppDataSource } from '../src/app/data-source';
import { BridgeService } from '../src/modules/bridge/bridge.service';
import { Checkpoint } from '../src/modules/checkpoints/checkpoint.entity';
import { MasteryService } from '../src/modules/mastery/mastery.service';
import { TraceService } from '../src/modules/traces/trace.service';
import { createTestDatabase } from './helpers/test-server';
import { insertCurriculumRows } from './helpers/curriculum-rows';

/**
 * Bridge `select` in two halves (ARCHITECTURE.md, "bridge"): the student's ONNX scoring runs
 * with no transaction open, before the curriculum engine takes the curriculum's row lock; the
 * writing half runs inside that lock's transaction and opens no model.
 */
describe('bridge select: scoring outside the transaction, writing inside', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let ds: DataSource;
  let bridge: BridgeService;
  let student: Checkpoint;
  let curriculumId: number;
  const teacher: string[] = [];

  before(async () => {
    db = await createTestDatabase();
    ds = createAppDataSource(db.url);
    await ds.initialize();
    await ds.runMigrations({ transaction: 'each' });
    bridge = new BridgeService(new TraceService(new MasteryService()));
    const q = async (sql: string, params: unknown[] = []) =>
      (await ds.query<Record<string, unknown>[]>(sql, params))[0];
    const dataset = await q(`INSERT INTO datasets (name) VALUES ('d') RETURNING id`);
    const sample = await q(
      `INSERT INTO samples (dataset_id, external_id, problem, answer, content_hash)
       VALUES ($1, 's1', 'What is 2+3?', '5', repeat('a', 64)) RETURNING id`,
      [dataset.id],
    );
    for (const text of ['2+3 = 5. The answer is 5.', 'Add: 5. The answer is 5.']) {
      const t = await q(
        `INSERT INTO traces (sample_id, external_id, kind, text, correct)
         VALUES ($1, $2, 'TEACHER', $3, true) RETURNING id::text AS id`,
        [sample.id, `t${teacher.length}`, text],
      );
      teacher.push(t.id as string);
    }
    // The student's ONNX export does not exist: the writing half must not need it.
    const rows = await insertCurriculumRows(ds, { replayFraction: 0 });
    ({ student, curriculumId } = rows);
    await q(
      `INSERT INTO stage_assignments (curriculum_id, round, sample_id, stage, policy_id,
         checkpoint_id, reason)
       VALUES ($1, 1, $2, 'SFT', $3, $4, 'never solved')`,
      [curriculumId, sample.id, rows.policyId, student.id],
    );
  });
  after(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('refuses to score (run the student model) inside a transaction', async () => {
    await assert.rejects(
      ds.transaction((m) => bridge.scoreSelect(m, curriculumId, 1, student)),
      /outside a transaction/,
    );
  });

  it('writes the BRIDGED copy of the lowest-NLL trace from given scores, opening no model', async () => {
    const nll = new Map([
      [teacher[0], 2.5],
      [teacher[1], 0.75],
    ]);
    const outcome = await ds.transaction((m) =>
      bridge.bySelect(m, student, { curriculumId, round: 1, studentId: student.id, nll }),
    );
    assert.deepEqual(outcome, { samples: 1, candidates: 2, written: 1 });
    const rows = await ds.query<{ parent: string; nll: number }[]>(
      `SELECT parent_trace_id::text AS parent, student_nll AS nll FROM traces WHERE kind = 'BRIDGED'`,
    );
    assert.deepEqual(rows, [{ parent: teacher[1], nll: 0.75 }]);
    const scored = await ds.query<{ id: string; nll: number }[]>(
      `SELECT id::text AS id, student_nll AS nll FROM traces WHERE kind = 'TEACHER' ORDER BY id`,
    );
    assert.deepEqual(
      scored.map((r) => r.nll),
      [2.5, 0.75],
      'the scores are stored on the teacher traces in the same transaction',
    );
  });

  it('refuses scores computed for another student', async () => {
    await assert.rejects(
      ds.transaction((m) =>
        bridge.bySelect(m, student, {
          curriculumId,
          round: 1,
          studentId: student.id + 1,
          nll: new Map(),
        }),
      ),
      /select scores of checkpoint/,
    );
  });
});
