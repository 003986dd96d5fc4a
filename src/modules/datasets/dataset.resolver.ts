import { Arg, Args, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../app/context';
import { ConnectionType, PageArgs, asConnection } from '../../common/pagination';
import { Dataset } from './dataset.entity';
import { CreateDatasetInput, DatasetFilter, UpdateDatasetInput } from './dataset.inputs';

export const DatasetConnection = ConnectionType(Dataset);

@Resolver(() => Dataset)
export class DatasetResolver {
  @Query(() => DatasetConnection, { description: 'Datasets, oldest first.' })
  async datasets(
    @Ctx() ctx: RequestContext,
    @Args() page: PageArgs,
    @Arg('filter', () => DatasetFilter, { nullable: true }) filter?: DatasetFilter,
  ) {
    return asConnection(
      DatasetConnection,
      await ctx.services.datasets.list(ctx, filter ?? {}, page),
    );
  }

  @Query(() => Dataset, { description: 'A dataset by its unique name.' })
  dataset(@Ctx() ctx: RequestContext, @Arg('name') name: string) {
    return ctx.services.datasets.byName(ctx, name);
  }

  @Mutation(() => Dataset)
  createDataset(@Ctx() ctx: RequestContext, @Arg('input') input: CreateDatasetInput) {
    return ctx.services.datasets.create(ctx, input);
  }

  @Mutation(() => Dataset)
  updateDataset(@Ctx() ctx: RequestContext, @Arg('input') input: UpdateDatasetInput) {
    return ctx.services.datasets.update(ctx, input);
  }
}
