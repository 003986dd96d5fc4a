import type { RequestContext } from '../../common/request-context';
import { idOf } from '../../common/ids';
import { keysetPage, type PageArgs } from '../../common/pagination';
import { Critique } from './critique.entity';
import type { CritiqueFilter } from './critique.inputs';

/** Critiques: diagnoses of failed rollouts, written by CRITIQUE runs. */
export class CritiqueService {
  list(ctx: RequestContext, f: CritiqueFilter, page: PageArgs) {
    const q = ctx.ds.getRepository(Critique).createQueryBuilder('c');
    if (f.sampleId) q.andWhere('c.sampleId = :s', { s: idOf('Sample', f.sampleId) });
    if (f.runId) q.andWhere('c.runId = :r', { r: idOf('Run', f.runId) });
    if (f.verified != null) q.andWhere('c.verified = :v', { v: f.verified });
    if (f.verdict) q.andWhere('c.verdict = :verdict', { verdict: f.verdict });
    return keysetPage(ctx.cursors, q, page);
  }
}
