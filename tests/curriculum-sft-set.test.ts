import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DataSource } from 'typeorm';
import { createAppDataSource } from '../src/app/data-source';
import { BridgeService } from '../src/modules/bridge/bridge.service';
import { Checkpoint } from '../src/modules/checkpoints/checkpoint.entity';
import { MasteryService } from '../src/modules/mastery/mastery.service';
import { TraceService } from '../src/modules/traces/trace.service';
import { SFT_SET_SQL } from '../src/modules/curricula/curriculum.manifests';
import { createTestDatabase } from './helpers/test-server';
import { insertCurriculumRows } from './helpers/curriculum-rows';

/**
 * A round's SFT set (curriculum.manifests.ts): a REPLAY item trains on the same trace an SFT item
 * of that sample would, the bridged one (with a bridge) or the tersest teacher trace (without),
 * never simply the sample's first teacher trace. On the built-in task the first is the terse
 * "raw" trace, which the bridge passes over for the step-by-step one; training the mastered
 * problems' replay on raw traces while the rest of the set is step by step mixes two styles.
 */
describe('the SFT set: replay items take the trace an SFT item of the sample takes', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let ds: DataSource;
  let bridge: BridgeService;
  let student: Checkpoint;
  let curriculumId: number;
  /** By sample ('sft', 'replay'): its raw (terse, inserted first) and explicit teacher traces. */
  const traces: Record<string, { raw: string; explicit: string; sample: string }> = {};

  before(async () => {
    db = await createTestDatabase();
    ds = createAppDataSource(db.url);
    await ds.initialize();
    await ds.runMigrations({ transaction: 'each' });
    bridge = new BridgeService(new TraceService(new MasteryService()));
    const q = async (sql: string, params: unknown[] = []) =>
      (await ds.query<Record<string, unknown>[]>(sql, params))[0];
    const dataset = await q(`INSERT INTO datasets (name) VALUES ('d') RETURNING id`);
    const rows = await insertCurriculumRows(ds, { replayFraction: 1 });
    ({ student, curriculumId } = rows);
    for (const [name, stage] of [
      ['sft', 'SFT'],
      ['replay', 'REPLAY'],
    ]) {
      const sample = await q(
        `INSERT INTO samples (dataset_id, external_id, problem, answer, content_hash)
         VALUES ($1, $2, 'What is 2+3, times 4?', '20', repeat($3, 64)) RETURNING id::text AS id`,
        [dataset.id, name, name === 'sft' ? 'a' : 'b'],
      );
      const teacher = async (ext: string, text: string) =>
        (
          await q(
            `INSERT INTO traces (sample_id, external_id, kind, text, correct)
             VALUES ($1, $2, 'TEACHER', $3, true) RETURNING id::text AS id`,
            [sample.id, `${name}-${ext}`, text],
          )
        ).id as string;
      traces[name] = {
        sample: sample.id as string,
        raw: await teacher('raw', '20'),
        explicit: await teacher('explicit', '2+3 = 5. 5*4 = 20. The answer is 20.'),
      };
      await q(
        `INSERT INTO stage_assignments (curriculum_id, round, sample_id, stage, policy_id,
           checkpoint_id, reason)
         VALUES ($1, 1, $2, $3, $4, $5, 'test')`,
        [curriculumId, sample.id, stage, rows.policyId, student.id],
      );
    }
  });
  after(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  /** The SFT set's items as sample -> the teacher trace each was copied from (or is). */
  async function sftSet(noBridge: boolean): Promise<Record<string, string>> {
    const rows = await ds.query<{ sample: string; source: string }[]>(
      `SELECT x.sample_id::text AS sample, coalesce(t.parent_trace_id, t.id)::text AS source
       FROM (${SFT_SET_SQL}) x JOIN traces t ON t.id = x.trace_id`,
      [curriculumId, 1, bridge.externalId(curriculumId, 1), null, noBridge],
    );
    const bySample = Object.fromEntries(
      Object.entries(traces).map(([name, t]) => [t.sample, name]),
    );
    return Object.fromEntries(rows.map((r) => [bySample[r.sample], r.source]));
  }

  it('without a bridge, both take the tersest teacher trace, as the teacher wrote it', async () => {
    // Before any bridge step: a round without a bridge has no BRIDGED traces.
    assert.deepEqual(await sftSet(true), { sft: traces.sft.raw, replay: traces.replay.raw });
  });

  it('bridge select writes a BRIDGED trace for the replay sample too', async () => {
    // The student finds each sample's explicit trace the more likely, as a student trained on
    // explicit traces does.
    const nll = new Map<string, number>();
    for (const t of Object.values(traces)) {
      nll.set(t.raw, 3);
      nll.set(t.explicit, 0.5);
    }
    const outcome = await ds.transaction((m) =>
      bridge.bySelect(m, student, { curriculumId, round: 1, studentId: student.id, nll }),
    );
    assert.deepEqual(outcome, { samples: 2, candidates: 4, written: 2 });
  });

  it('with a bridge, the SFT item and the replay item both take the bridged (explicit) trace', async () => {
    assert.deepEqual(await sftSet(false), {
      sft: traces.sft.explicit,
      replay: traces.replay.explicit,
    });
  });
});
