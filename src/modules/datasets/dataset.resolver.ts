import { Arg, Args, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../common/request-context';
import { ConnectionType, PageArgs, asConnection } from '../../common/pagination';
import { Dataset } from './dataset.entity';
import { CreateDatasetInput, DatasetFilter, UpdateDatasetInput } from './dataset.inputs';
import type { DatasetService } from './dataset.service';

export const DatasetConnection = ConnectionType(Dataset);

@Resolver(() => Dataset)
export class DatasetResolver {
  constructor(private readonly datasetService: DatasetService) {}

  @Query(() => DatasetConnection, { description: 'Datasets, oldest first.' })
  async datasets(
    @Ctx() ctx: RequestContext,
    @Args() page: PageArgs,
    @Arg('filter', () => DatasetFilter, { nullable: true }) filter?: DatasetFilter,
  ) {
    return asConnection(DatasetConnection, await this.datasetService.list(ctx, filter ?? {}, page));
  }

  @Query(() => Dataset, { description: 'A dataset by its unique name.' })
  dataset(@Ctx() ctx: RequestContext, @Arg('name') name: string) {
    return this.datasetService.byName(ctx, name);
  }

  @Mutation(() => Dataset)
  createDataset(@Ctx() ctx: RequestContext, @Arg('input') input: CreateDatasetInput) {
    return this.datasetService.create(ctx, input);
  }

  @Mutation(() => Dataset)
  updateDataset(@Ctx() ctx: RequestContext, @Arg('input') input: UpdateDatasetInput) {
    return this.datasetService.update(ctx, input);
  }
}
