import { Arg, Args, Ctx, FieldResolver, Query, Resolver, Root } from 'type-graphql';
import type { RequestContext } from '../../app/context';
import { ConnectionType, PageArgs, asConnection } from '../../common/pagination';
import { Curriculum, CurriculumStatus } from './curriculum.entity';
import { CurriculumDataset } from './curriculum-dataset.entity';
import { Dataset } from '../datasets/dataset.entity';
import { Checkpoint } from '../checkpoints/checkpoint.entity';
import { RoutingPolicy } from '../routing/routing-policy.entity';

export const CurriculumConnection = ConnectionType(Curriculum);

const MAX_DATASETS = 100;

@Resolver(() => Curriculum)
export class CurriculumResolver {
  @Query(() => CurriculumConnection)
  async curricula(
    @Ctx() ctx: RequestContext,
    @Args() page: PageArgs,
    @Arg('status', () => CurriculumStatus, { nullable: true }) status?: CurriculumStatus,
  ) {
    return asConnection(CurriculumConnection, await ctx.services.curricula.list(ctx, status, page));
  }

  private async datasetsIn(ctx: RequestContext, c: Curriculum, role: 'TRAIN' | 'EVAL') {
    const links = await ctx.loaders
      .childrenBy(CurriculumDataset, 'curriculumId', {
        first: MAX_DATASETS,
        orderBy: 'datasetId',
        where: { role },
      })
      .load(c.id);
    const datasets = await ctx.loaders.byId(Dataset).loadMany(links.map((l) => l.datasetId));
    return datasets.filter((d): d is Dataset => d instanceof Dataset);
  }

  @FieldResolver(() => [Dataset], { description: 'Datasets it trains on.' })
  datasets(@Root() c: Curriculum, @Ctx() ctx: RequestContext) {
    return this.datasetsIn(ctx, c, 'TRAIN');
  }

  @FieldResolver(() => [Dataset], { description: 'Held-out datasets it evaluates on.' })
  evalDatasets(@Root() c: Curriculum, @Ctx() ctx: RequestContext) {
    return this.datasetsIn(ctx, c, 'EVAL');
  }

  @FieldResolver(() => Checkpoint)
  baseCheckpoint(@Root() c: Curriculum, @Ctx() ctx: RequestContext) {
    return ctx.loaders.byId(Checkpoint).load(c.baseCheckpointId);
  }

  @FieldResolver(() => RoutingPolicy)
  policy(@Root() c: Curriculum, @Ctx() ctx: RequestContext) {
    return ctx.loaders.byId(RoutingPolicy).load(c.policyId);
  }
}
