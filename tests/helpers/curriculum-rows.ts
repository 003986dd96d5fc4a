/**
 * The rows a bridge or SFT-set test needs around its samples: a student checkpoint whose ONNX
 * export does not exist (the code under test must not need it), a SELECT routing policy and a
 * one-round curriculum in its ROUTE phase, inserted as plain SQL.
 */
import type { DataSource } from 'typeorm';
import { Checkpoint } from '../../src/modules/checkpoints/checkpoint.entity';

export interface CurriculumRows {
  student: Checkpoint;
  policyId: number;
  curriculumId: number;
}

export async function insertCurriculumRows(
  ds: DataSource,
  opts: { replayFraction: number },
): Promise<CurriculumRows> {
  const q = async (sql: string, params: unknown[] = []) =>
    (await ds.query<Record<string, unknown>[]>(sql, params))[0];
  const ckpt = await q(
    `INSERT INTO checkpoints (name, base_model, uri, onnx_uri)
     VALUES ('student', 'tiny', 'file:///nonexistent/ckpt', 'file:///nonexistent/ckpt/model.onnx')
     RETURNING id`,
  );
  const student = await ds.getRepository(Checkpoint).findOneByOrFail({ id: ckpt.id as number });
  const policy = await q(
    `INSERT INTO routing_policies (name, version, k, temperature, tau_low, tau_high,
       min_attempts, replay_fraction, bridge_strategy, seed)
     VALUES ('p', 1, 4, 1, 0, 1, 4, $1, 'SELECT', 1) RETURNING id`,
    [opts.replayFraction],
  );
  const curriculum = await q(
    `INSERT INTO curricula (name, base_checkpoint_id, policy_id, rounds, current_round, phase)
     VALUES ('c', $1, $2, 1, 1, 'ROUTE') RETURNING id`,
    [student.id, policy.id],
  );
  return {
    student,
    policyId: policy.id as number,
    curriculumId: curriculum.id as number,
  };
}
