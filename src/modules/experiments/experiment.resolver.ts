import {
  Arg,
  Args,
  Ctx,
  FieldResolver,
  ID,
  Mutation,
  Query,
  Resolver,
  Root,
  Subscription,
} from 'type-graphql';
import type { SubscribeResolverData } from 'type-graphql';
import { freshLoaders, type RequestContext } from '../../common/request-context';
import { idOf } from '../../common/ids';
import { liveRowsById } from '../../common/pubsub/live-rows';
import { loadNode } from '../../common/load-node';
import { ConnectionType, PageArgs, asConnection } from '../../common/pagination';
import { Checkpoint } from '../checkpoints/checkpoint.entity';
import { Dataset } from '../datasets/dataset.entity';
import { ArmResult, Experiment, ExperimentStatus } from './experiment.entity';
import { CreateExperimentInput } from './experiment.inputs';
import type { ExperimentService } from './experiment.service';

export const ExperimentConnection = ConnectionType(Experiment);

function subscribeExperimentUpdated(
  data: SubscribeResolverData<unknown, { experimentId?: string | null }, RequestContext>,
) {
  const { ds, announcements } = data.context;
  const only = data.args.experimentId ? Number(idOf('Experiment', data.args.experimentId)) : null;
  return liveRowsById(ds, announcements, Experiment, 'experimentUpdated', only);
}

@Resolver(() => Experiment)
export class ExperimentResolver {
  constructor(private readonly experimentService: ExperimentService) {}

  @Query(() => ExperimentConnection)
  async experiments(
    @Ctx() ctx: RequestContext,
    @Args() page: PageArgs,
    @Arg('status', () => ExperimentStatus, { nullable: true }) status?: ExperimentStatus,
  ) {
    return asConnection(ExperimentConnection, await this.experimentService.list(ctx, status, page));
  }

  @Query(() => Experiment, { description: 'One experiment by id (NOT_FOUND when none).' })
  experiment(@Ctx() ctx: RequestContext, @Arg('id', () => ID) id: string) {
    return loadNode(ctx, Experiment, id);
  }

  @FieldResolver(() => [ArmResult], {
    description: 'Per arm: accuracy over seeds with its 95% interval, per level, compute, p-value.',
  })
  arms(@Root() e: Experiment, @Ctx() ctx: RequestContext) {
    return this.experimentService.results(ctx, e);
  }

  @FieldResolver(() => Checkpoint)
  baseCheckpoint(@Root() e: Experiment, @Ctx() ctx: RequestContext) {
    return ctx.loaders.byId(Checkpoint).load(e.baseCheckpointId);
  }

  @FieldResolver(() => [Dataset])
  async trainDatasets(@Root() e: Experiment, @Ctx() ctx: RequestContext) {
    const found = await ctx.loaders.byId(Dataset).loadMany(e.trainDatasetIds);
    return found.filter((d): d is Dataset => d instanceof Dataset);
  }

  @FieldResolver(() => [Dataset])
  async evalDatasets(@Root() e: Experiment, @Ctx() ctx: RequestContext) {
    const found = await ctx.loaders.byId(Dataset).loadMany(e.evalDatasetIds);
    return found.filter((d): d is Dataset => d instanceof Dataset);
  }

  @Subscription(() => Experiment, {
    subscribe: subscribeExperimentUpdated,
    description:
      'The experiment, as stored, each time it changes (status; one of its runs or curricula ' +
      'progressing or ending, and with it its arms); all experiments without an id. Changes in ' +
      'quick succession may arrive as one.',
  })
  experimentUpdated(
    @Root() experiment: Experiment,
    @Ctx() ctx: RequestContext,
    @Arg('experimentId', () => ID, { nullable: true }) _experimentId?: string,
  ): Experiment {
    freshLoaders(ctx);
    return experiment;
  }

  @Mutation(() => Experiment, {
    description:
      'Creates an experiment (ACTIVE) and starts the first run of every seed of every arm.',
  })
  createExperiment(@Ctx() ctx: RequestContext, @Arg('input') input: CreateExperimentInput) {
    return this.experimentService.create(ctx, input);
  }

  @Mutation(() => Experiment, {
    description:
      'Cancels an ACTIVE or PAUSED experiment, its live runs and its curricula; nothing more ' +
      'starts for it, and the results of the seeds that finished stay. CONFLICT once it ended.',
  })
  cancelExperiment(@Ctx() ctx: RequestContext, @Arg('id', () => ID) id: string) {
    return this.experimentService.cancel(ctx, id);
  }
}
