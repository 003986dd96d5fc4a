import path from 'node:path';
import type { EntityManager } from 'typeorm';
import { badInput } from '../../common/errors';
import type { Checkpoint } from '../checkpoints/checkpoint.entity';
import { StudentScorer } from '../../scoring';
import {
  INSERT_BRIDGED_SQL,
  SFT_TEACHER_BATCH_SQL,
  bridgedExternalId,
  bySample,
  type TeacherCandidate,
} from './bridge.sql';

const SAMPLES_PER_BATCH = 256;

export interface BridgeOutcome {
  samples: number;
  candidates: number;
  written: number;
}

/** The folder of a checkpoint's ONNX export (its onnxUri's folder, else its uri). */
export function onnxDirOf(checkpoint: Checkpoint): string {
  const uri = checkpoint.onnxUri ?? checkpoint.uri;
  const local = uri.replace(/^file:\/\//, '');
  return uri.endsWith('.onnx') ? path.dirname(local) : local;
}

/**
 * Bridge `select`: scores every verified teacher trace of each SFT sample of a round with the
 * student's ONNX export (in-process, batched), stores the mean token NLL on the teacher
 * traces, and writes one BRIDGED trace per sample: a copy of the most likely one.
 */
export async function bridgeBySelect(
  manager: EntityManager,
  curriculumId: number,
  round: number,
  student: Checkpoint,
): Promise<BridgeOutcome> {
  if (!student.onnxUri) {
    throw badInput(
      `Checkpoint ${student.name} has no ONNX export: the select strategy scores traces with it`,
    );
  }
  const scorer = await StudentScorer.open(onnxDirOf(student));
  const outcome: BridgeOutcome = { samples: 0, candidates: 0, written: 0 };
  try {
    let after = '0';
    for (;;) {
      const rows = await manager.query<TeacherCandidate[]>(SFT_TEACHER_BATCH_SQL, [
        curriculumId,
        round,
        after,
        SAMPLES_PER_BATCH,
      ]);
      if (rows.length === 0) break;
      const scores = await scorer.score(
        rows.map((r) => ({ problem: r.problem, completion: r.text })),
      );
      const nll = new Map(rows.map((r, i) => [r.trace_id, scores[i].meanNll]));
      await manager.query(
        `UPDATE traces t SET student_nll = x.nll
         FROM unnest($1::bigint[], $2::float8[]) AS x(id, nll) WHERE t.id = x.id`,
        [rows.map((r) => r.trace_id), rows.map((r) => nll.get(r.trace_id))],
      );
      const groups = bySample(rows);
      const best = groups.map((g) =>
        g.reduce((a, b) => (nll.get(b.trace_id)! < nll.get(a.trace_id)! ? b : a)),
      );
      const [{ inserted }] = await manager.query<{ inserted: number }[]>(INSERT_BRIDGED_SQL, [
        JSON.stringify(
          best.map((b, i) => ({
            parent_id: b.trace_id,
            external_id: bridgedExternalId(curriculumId, round),
            producer: `select:${student.name}`,
            student_nll: nll.get(b.trace_id),
            metadata: { strategy: 'select', candidates: groups[i].length, student: student.name },
          })),
        ),
      ]);
      outcome.samples += groups.length;
      outcome.candidates += rows.length;
      outcome.written += inserted;
      after = rows.at(-1)!.sample_id;
    }
  } finally {
    await scorer.close();
  }
  return outcome;
}
