import type { EntityManager } from 'typeorm';
import type { DerivedTrace, TraceService } from '../traces/trace.service';

/**
 * What the in-API bridge strategies share: the SFT and REPLAY samples of a round, batch by
 * batch, with their verified teacher traces; and the insert of BRIDGED traces derived from those parents.
 */

/** External id of the BRIDGED trace a curriculum round writes for a sample (one per round). */
export const bridgedExternalId = (curriculumId: number, round: number) =>
  `bridge:c${curriculumId}:r${round}`;

/** What a bridge step did: samples bridged, teacher traces considered, BRIDGED traces written. */
export interface BridgeOutcome {
  samples: number;
  candidates: number;
  written: number;
}

/** The student's scores of a round's teacher traces (mean token NLL by trace id), for `select`. */
export interface SelectScores {
  curriculumId: number;
  round: number;
  studentId: number;
  nll: Map<string, number>;
}

/**
 * Up to $4 SFT and REPLAY samples of a round after sample id $3, each with all its verified
 * teacher traces: replay items train on the bridged trace too (curriculum.manifests.ts).
 */
const SFT_TEACHER_BATCH_SQL = `
  WITH batch AS (
    SELECT a.sample_id FROM stage_assignments a
    WHERE a.curriculum_id = $1 AND a.round = $2 AND a.stage IN ('SFT', 'REPLAY')
      AND a.sample_id > $3
      AND EXISTS (SELECT 1 FROM traces t WHERE t.sample_id = a.sample_id AND t.kind = 'TEACHER' AND t.correct)
    ORDER BY a.sample_id LIMIT $4)
  SELECT b.sample_id::text AS sample_id, s.problem, t.id::text AS trace_id, t.text
  FROM batch b JOIN samples s ON s.id = b.sample_id
  JOIN traces t ON t.sample_id = b.sample_id AND t.kind = 'TEACHER' AND t.correct
  ORDER BY b.sample_id, t.id`;

export interface TeacherCandidate {
  sample_id: string;
  problem: string;
  trace_id: string;
  text: string;
}

/** Groups a batch's rows by sample, in order. */
function bySample(rows: TeacherCandidate[]): TeacherCandidate[][] {
  const groups: TeacherCandidate[][] = [];
  for (const row of rows) {
    const last = groups.at(-1);
    if (last && last[0].sample_id === row.sample_id) last.push(row);
    else groups.push([row]);
  }
  return groups;
}

/**
 * The round's SFT and REPLAY samples in batches of up to `samplesPerBatch`, each batch's rows (the
 * verified teacher traces, in sample order) and the same rows grouped by sample. Reads only.
 */
export async function* sftTeacherBatches(
  manager: EntityManager,
  curriculumId: number,
  round: number,
  samplesPerBatch: number,
): AsyncGenerator<{ rows: TeacherCandidate[]; groups: TeacherCandidate[][] }> {
  let after = '0';
  for (;;) {
    const rows = await manager.query<TeacherCandidate[]>(SFT_TEACHER_BATCH_SQL, [
      curriculumId,
      round,
      after,
      samplesPerBatch,
    ]);
    if (rows.length === 0) return;
    yield { rows, groups: bySample(rows) };
    after = rows.at(-1)!.sample_id;
  }
}

/**
 * The loop both in-API strategies run: for each batch of the round's SFT and REPLAY samples
 * (with their verified teacher traces, grouped by sample), `bridge` says which BRIDGED traces to write;
 * TraceService inserts them in one statement per batch.
 */
export async function bridgeSftSamples(
  manager: EntityManager,
  traces: TraceService,
  curriculumId: number,
  round: number,
  samplesPerBatch: number,
  bridge: (rows: TeacherCandidate[], bySample: TeacherCandidate[][]) => Promise<DerivedTrace[]>,
): Promise<BridgeOutcome> {
  const outcome: BridgeOutcome = { samples: 0, candidates: 0, written: 0 };
  for await (const { rows, groups } of sftTeacherBatches(
    manager,
    curriculumId,
    round,
    samplesPerBatch,
  )) {
    const inserted = await traces.writeDerived(manager, await bridge(rows, groups));
    outcome.samples += groups.length;
    outcome.candidates += rows.length;
    outcome.written += inserted;
  }
  return outcome;
}
