import path from 'node:path';
import type { EntityManager } from 'typeorm';
import { badInput } from '../../common/errors';
import type { Checkpoint } from '../checkpoints/checkpoint.entity';
import { StudentScorer } from '../../scoring';
import type { TraceService } from '../traces/trace.service';
import {
  bridgeSftSamples,
  bridgedExternalId,
  sftTeacherBatches,
  type BridgeOutcome,
  type SelectScores,
} from './bridge.sql';

const SAMPLES_PER_BATCH = 256;

/** The folder of a checkpoint's ONNX export (its onnxUri's folder, else its uri). */
export function onnxDirOf(checkpoint: Checkpoint): string {
  const uri = checkpoint.onnxUri ?? checkpoint.uri;
  const local = uri.replace(/^file:\/\//, '');
  return uri.endsWith('.onnx') ? path.dirname(local) : local;
}

/**
 * Bridge `select`, first half: scores every verified teacher trace of each SFT and REPLAY sample
 * of a round with the student's ONNX export (in-process, batched). Reads only, and runs outside any
 * transaction: the curriculum engine calls it before it takes the curriculum's row lock, so the
 * model's work holds no lock and no connection in a transaction.
 */
export async function scoreSelectCandidates(
  reader: EntityManager,
  curriculumId: number,
  round: number,
  student: Checkpoint,
): Promise<SelectScores> {
  if (!student.onnxUri) {
    throw badInput(
      `Checkpoint ${student.name} has no ONNX export: the select strategy scores traces with it`,
    );
  }
  const nll = new Map<string, number>();
  const scorer = await StudentScorer.open(onnxDirOf(student));
  try {
    for await (const { rows } of sftTeacherBatches(
      reader,
      curriculumId,
      round,
      SAMPLES_PER_BATCH,
    )) {
      const scores = await scorer.score(
        rows.map((r) => ({ problem: r.problem, completion: r.text })),
      );
      rows.forEach((r, i) => nll.set(r.trace_id, scores[i].meanNll));
    }
  } finally {
    await scorer.close();
  }
  return { curriculumId, round, studentId: student.id, nll };
}

/**
 * Bridge `select`, second half, in the caller's transaction: stores the scores on the teacher
 * traces and writes one BRIDGED trace per sample, a copy of the most likely one. It opens no
 * model. A teacher trace verified after the scoring has no score and is not a candidate this
 * round; a sample with no scored candidate is not bridged.
 */
export async function bridgeBySelect(
  manager: EntityManager,
  traces: TraceService,
  student: Checkpoint,
  scored: SelectScores,
): Promise<BridgeOutcome> {
  const { curriculumId, round, nll } = scored;
  if (scored.studentId !== student.id) {
    throw new Error(`select scores of checkpoint ${scored.studentId} given for ${student.id}`);
  }
  return bridgeSftSamples(
    manager,
    traces,
    curriculumId,
    round,
    SAMPLES_PER_BATCH,
    async (rows, groups) => {
      await traces.recordStudentNll(
        manager,
        rows
          .filter((r) => nll.has(r.trace_id))
          .map((r) => ({ traceId: r.trace_id, nll: nll.get(r.trace_id)! })),
      );
      return groups.flatMap((all) => {
        const g = all.filter((r) => nll.has(r.trace_id));
        if (g.length === 0) return [];
        const best = g.reduce((a, b) => (nll.get(b.trace_id)! < nll.get(a.trace_id)! ? b : a));
        return [
          {
            parent_id: best.trace_id,
            external_id: bridgedExternalId(curriculumId, round),
            producer: `select:${student.name}`,
            student_nll: nll.get(best.trace_id),
            metadata: { strategy: 'select', candidates: g.length, student: student.name },
          },
        ];
      });
    },
  );
}
