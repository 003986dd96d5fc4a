import type { RequestContext } from '../../app/context';
import { keysetPage, type PageArgs } from '../../common/pagination';
import { Curriculum, type CurriculumStatus } from './curriculum.entity';

/** Curricula: the multi-round loops. Creating and advancing them comes with the strategy. */
export class CurriculumService {
  list(ctx: RequestContext, status: CurriculumStatus | undefined, page: PageArgs) {
    const q = ctx.ds.getRepository(Curriculum).createQueryBuilder('c');
    if (status) q.andWhere('c.status = :status', { status });
    return keysetPage(ctx.cursors, q, page);
  }
}
