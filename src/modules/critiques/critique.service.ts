import type { EntityManager } from 'typeorm';
import type { RequestContext } from '../../common/request-context';
import { idOf } from '../../common/ids';
import { keysetPage, type PageArgs } from '../../common/pagination';
import { TraceKind } from '../traces/trace.entity';
import type { NewTrace, TraceService } from '../traces/trace.service';
import { Critique, type CritiqueVerdict } from './critique.entity';
import type { CritiqueFilter } from './critique.inputs';

/** One teacher's critique of a failed rollout, as a CRITIQUE run hands it in (row ids). */
export interface NewCritique {
  sampleId: string;
  /** The run's own key for it: the repair and solution traces are stored under `<key>:…`. */
  key: string;
  failedTraceId: string;
  diagnosis: string;
  verdict: CritiqueVerdict;
  firstWrongStep: number | null;
  repair: string | null;
  solution: string | null;
  teacher: string;
}

const INSERT_CRITIQUES_SQL = `
  WITH c AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS c(sample_id bigint, failed_trace_id bigint,
         diagnosis text, verdict critique_verdict, first_wrong_step integer, repair_key text,
         solution_key text, verified boolean, teacher text)),
  ins AS (
    INSERT INTO critiques (sample_id, failed_trace_id, diagnosis, verdict, first_wrong_step,
                           repair_trace_id, solution_trace_id, verified, teacher, run_id)
    SELECT c.sample_id, c.failed_trace_id, c.diagnosis, c.verdict, c.first_wrong_step,
           r.id, s.id, c.verified, c.teacher, $2
    FROM c
    LEFT JOIN traces r ON r.sample_id = c.sample_id AND r.external_id = c.repair_key
    LEFT JOIN traces s ON s.sample_id = c.sample_id AND s.external_id = c.solution_key
    ON CONFLICT (run_id, failed_trace_id) DO NOTHING RETURNING 1)
  SELECT count(*)::int AS inserted FROM ins`;

/**
 * Critiques: diagnoses of failed rollouts, written by CRITIQUE runs. The one writer of
 * `critiques`; their repair and solution traces go through TraceService.
 */
export class CritiqueService {
  constructor(private readonly traces: TraceService) {}

  list(ctx: RequestContext, f: CritiqueFilter, page: PageArgs) {
    const q = ctx.ds.getRepository(Critique).createQueryBuilder('c');
    if (f.sampleId) q.andWhere('c.sampleId = :s', { s: idOf('Sample', f.sampleId) });
    if (f.runId) q.andWhere('c.runId = :r', { r: idOf('Run', f.runId) });
    if (f.verified != null) q.andWhere('c.verified = :v', { v: f.verified });
    if (f.verdict) q.andWhere('c.verdict = :verdict', { verdict: f.verdict });
    return keysetPage(ctx.cursors, q, page);
  }

  /**
   * Stores a run's critiques in the caller's transaction: a REPAIR and a SOLUTION trace each
   * (children of the failed rollout, graded), then the critiques, verified when both traces
   * grade correct. Idempotent: a critique of a failed trace the run has critiqued is skipped.
   */
  async store(
    manager: EntityManager,
    runId: number,
    critiques: NewCritique[],
  ): Promise<{ inserted: number; existing: number; verified: number }> {
    await this.traces.assertLineage(
      manager,
      critiques.map((c, i) => ({
        sampleId: c.sampleId,
        traceId: c.failedTraceId,
        field: `critiques.${i}.failedTraceId`,
      })),
    );
    const traceOf = (
      c: NewCritique,
      kind: TraceKind,
      text: string | null,
      part: string,
    ): NewTrace | null =>
      text
        ? {
            sampleId: c.sampleId,
            externalId: `run:${runId}:${c.key}:${part}`,
            kind,
            text,
            producer: c.teacher,
            parentTraceId: c.failedTraceId,
          }
        : null;
    const parts = critiques.map((c) => ({
      repair: traceOf(c, TraceKind.REPAIR, c.repair, 'repair'),
      solution: traceOf(c, TraceKind.SOLUTION, c.solution, 'solution'),
    }));
    const traces = parts.flatMap((p) => [p.repair, p.solution]);
    const written = await this.traces.write(
      manager,
      traces.filter((t): t is NewTrace => t !== null),
      { runId },
    );
    // Each trace's grade, by its place in the batch (written answers in input order).
    const grades = new Map<NewTrace, boolean | null>();
    traces
      .filter((t): t is NewTrace => t !== null)
      .forEach((t, i) => grades.set(t, written.traces[i].correct));
    const correct = (t: NewTrace | null) => t !== null && grades.get(t) === true;
    const rows = critiques.map((c, i) => {
      const { repair, solution } = parts[i];
      return {
        sample_id: c.sampleId,
        failed_trace_id: c.failedTraceId,
        diagnosis: c.diagnosis,
        verdict: c.verdict,
        first_wrong_step: c.firstWrongStep,
        repair_key: repair?.externalId ?? null,
        solution_key: solution?.externalId ?? null,
        verified: correct(repair) && correct(solution),
        teacher: c.teacher,
      };
    });
    const [{ inserted }] = await manager.query<{ inserted: number }[]>(INSERT_CRITIQUES_SQL, [
      JSON.stringify(rows),
      runId,
    ]);
    return {
      inserted,
      existing: critiques.length - inserted,
      verified: rows.filter((c) => c.verified).length,
    };
  }
}
