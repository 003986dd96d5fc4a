import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { RequestContext } from '../../common/request-context';
import { ConnectionType, PageArgs, asConnection } from '../../common/pagination';
import { Run } from './run.entity';
import { RunEvent } from './run-event.entity';
import { RunEventsArgs, RunFilter, StartRunInput } from './run.inputs';
import { loadNode } from '../../common/load-node';
import { Checkpoint } from '../checkpoints/checkpoint.entity';
import { Manifest } from '../manifests/manifest.entity';
import { Curriculum } from '../curricula/curriculum.entity';
import type { RunService } from './run.service';

export const RunConnection = ConnectionType(Run);

@Resolver(() => Run)
export class RunResolver {
  constructor(private readonly runService: RunService) {}

  @Query(() => RunConnection)
  async runs(
    @Ctx() ctx: RequestContext,
    @Args() page: PageArgs,
    @Arg('filter', () => RunFilter, { nullable: true }) filter?: RunFilter,
  ) {
    return asConnection(RunConnection, await this.runService.list(ctx, filter ?? {}, page));
  }

  @Query(() => Run, { description: 'A run by its id.' })
  run(@Ctx() ctx: RequestContext, @Arg('id', () => ID) id: string) {
    return loadNode(ctx, Run, id);
  }

  @Mutation(() => Run, {
    description:
      'Validates the config, freezes the manifest (from a selection), stores the run QUEUED and queues it on its launcher.',
  })
  startRun(@Ctx() ctx: RequestContext, @Arg('input') input: StartRunInput) {
    return this.runService.start(ctx, input);
  }

  @Mutation(() => Run, {
    description: 'QUEUED: cancelled at once. Live: CANCELLING until it stops.',
  })
  cancelRun(@Ctx() ctx: RequestContext, @Arg('id', () => ID) id: string) {
    return this.runService.cancel(ctx, id);
  }

  @Mutation(() => Run, { description: 'A new attempt of a FAILED or CANCELLED run.' })
  retryRun(@Ctx() ctx: RequestContext, @Arg('id', () => ID) id: string) {
    return this.runService.retry(ctx, id);
  }

  @FieldResolver(() => [RunEvent], { description: 'Stored events after afterSeq, in seq order.' })
  events(@Root() run: Run, @Ctx() ctx: RequestContext, @Args() args: RunEventsArgs) {
    return ctx.loaders
      .childrenBy(RunEvent, 'runId', { first: args.first, orderBy: 'seq', after: args.afterSeq })
      .load(run.id);
  }

  @FieldResolver(() => Checkpoint, { nullable: true })
  inputCheckpoint(@Root() run: Run, @Ctx() ctx: RequestContext) {
    return run.inputCheckpointId ? ctx.loaders.byId(Checkpoint).load(run.inputCheckpointId) : null;
  }

  @FieldResolver(() => Checkpoint, { nullable: true })
  outputCheckpoint(@Root() run: Run, @Ctx() ctx: RequestContext) {
    return run.outputCheckpointId
      ? ctx.loaders.byId(Checkpoint).load(run.outputCheckpointId)
      : null;
  }

  @FieldResolver(() => Manifest, { nullable: true })
  manifest(@Root() run: Run, @Ctx() ctx: RequestContext) {
    return run.manifestId ? ctx.loaders.byId(Manifest).load(run.manifestId) : null;
  }

  @FieldResolver(() => Curriculum, { nullable: true })
  curriculum(@Root() run: Run, @Ctx() ctx: RequestContext) {
    return run.curriculumId ? ctx.loaders.byId(Curriculum).load(run.curriculumId) : null;
  }

  @FieldResolver(() => Run, { nullable: true, description: 'The attempt this one retries.' })
  retryOf(@Root() run: Run, @Ctx() ctx: RequestContext) {
    return run.retryOfId ? ctx.loaders.byId(Run).load(run.retryOfId) : null;
  }
}
