import type { RequestContext } from '../../app/context';
import { idOf } from '../../common/ids';
import { keysetPage, type PageArgs } from '../../common/pagination';
import { Run } from './run.entity';
import type { RunFilter } from './run.inputs';

/** Runs: jobs of one stage each. Launching and watching them comes with the runner. */
export class RunService {
  list(ctx: RequestContext, filter: RunFilter, page: PageArgs) {
    const q = ctx.ds.getRepository(Run).createQueryBuilder('r');
    if (filter.status?.length) q.andWhere('r.status = ANY(:status)', { status: filter.status });
    if (filter.stage) q.andWhere('r.stage = :stage', { stage: filter.stage });
    if (filter.curriculumId) {
      q.andWhere('r.curriculumId = :c', { c: idOf('Curriculum', filter.curriculumId) });
    }
    if (filter.round !== undefined) q.andWhere('r.round = :round', { round: filter.round });
    return keysetPage(ctx.cursors, q, page);
  }
}
