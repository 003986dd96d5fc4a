import { Arg, Args, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { RequestContext } from '../../common/request-context';
import { ConnectionType, PageArgs, asConnection } from '../../common/pagination';
import { Checkpoint } from './checkpoint.entity';
import { CheckpointFilter, CreateCheckpointInput } from './checkpoint.inputs';
import { Run } from '../runs/run.entity';
import type { CheckpointService } from './checkpoint.service';

export const CheckpointConnection = ConnectionType(Checkpoint);

@Resolver(() => Checkpoint)
export class CheckpointResolver {
  constructor(private readonly checkpointService: CheckpointService) {}

  @Query(() => CheckpointConnection)
  async checkpoints(
    @Ctx() ctx: RequestContext,
    @Args() page: PageArgs,
    @Arg('filter', () => CheckpointFilter, { nullable: true }) filter?: CheckpointFilter,
  ) {
    return asConnection(
      CheckpointConnection,
      await this.checkpointService.list(ctx, filter ?? {}, page),
    );
  }

  @Mutation(() => Checkpoint, { description: 'Registers weights that exist somewhere.' })
  createCheckpoint(@Ctx() ctx: RequestContext, @Arg('input') input: CreateCheckpointInput) {
    return this.checkpointService.create(ctx, input);
  }

  @FieldResolver(() => Checkpoint, { nullable: true })
  parent(@Root() checkpoint: Checkpoint, @Ctx() ctx: RequestContext) {
    return checkpoint.parentId ? ctx.loaders.byId(Checkpoint).load(checkpoint.parentId) : null;
  }

  @FieldResolver(() => Run, { nullable: true })
  producedByRun(@Root() checkpoint: Checkpoint, @Ctx() ctx: RequestContext) {
    return checkpoint.producedByRunId
      ? ctx.loaders.byId(Run).load(checkpoint.producedByRunId)
      : null;
  }
}
