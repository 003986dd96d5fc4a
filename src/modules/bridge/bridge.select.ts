import path from 'node:path';
import type { EntityManager } from 'typeorm';
import { badInput } from '../../common/errors';
import type { Checkpoint } from '../checkpoints/checkpoint.entity';
import { StudentScorer } from '../../scoring';
import type { TraceService } from '../traces/trace.service';
import { bridgeSftSamples, bridgedExternalId, type BridgeOutcome } from './bridge.sql';

const SAMPLES_PER_BATCH = 256;

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
  traces: TraceService,
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
  try {
    return await bridgeSftSamples(
      manager,
      traces,
      curriculumId,
      round,
      SAMPLES_PER_BATCH,
      async (rows, groups) => {
        const scores = await scorer.score(
          rows.map((r) => ({ problem: r.problem, completion: r.text })),
        );
        const nll = new Map(rows.map((r, i) => [r.trace_id, scores[i].meanNll]));
        await traces.recordStudentNll(
          manager,
          rows.map((r) => ({ traceId: r.trace_id, nll: nll.get(r.trace_id)! })),
        );
        return groups.map((g) => {
          const best = g.reduce((a, b) => (nll.get(b.trace_id)! < nll.get(a.trace_id)! ? b : a));
          return {
            parent_id: best.trace_id,
            external_id: bridgedExternalId(curriculumId, round),
            producer: `select:${student.name}`,
            student_nll: nll.get(best.trace_id),
            metadata: { strategy: 'select', candidates: g.length, student: student.name },
          };
        });
      },
    );
  } finally {
    await scorer.close();
  }
}
