import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { RequestContext } from '../../common/request-context';
import { ConnectionType, PageArgs, asConnection } from '../../common/pagination';
import { Curriculum, CurriculumStatus } from './curriculum.entity';
import { CurriculumDataset } from './curriculum-dataset.entity';
import { Dataset } from '../datasets/dataset.entity';
import { Checkpoint } from '../checkpoints/checkpoint.entity';
import { RoutingPolicy } from '../routing/routing-policy.entity';
import { Run } from '../runs/run.entity';
import { CurriculumRound } from './curriculum-round.entity';
import { CreateCurriculumInput } from './curriculum.inputs';
import type { CurriculumService } from './curriculum.service';

export const CurriculumConnection = ConnectionType(Curriculum);

const MAX_DATASETS = 100;

@Resolver(() => Curriculum)
export class CurriculumResolver {
  constructor(private readonly curriculumService: CurriculumService) {}

  @Query(() => CurriculumConnection)
  async curricula(
    @Ctx() ctx: RequestContext,
    @Args() page: PageArgs,
    @Arg('status', () => CurriculumStatus, { nullable: true }) status?: CurriculumStatus,
  ) {
    return asConnection(CurriculumConnection, await this.curriculumService.list(ctx, status, page));
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

  @FieldResolver(() => [CurriculumRound], {
    description: 'Its rounds so far, with their checkpoints and figures.',
  })
  roundResults(@Root() c: Curriculum, @Ctx() ctx: RequestContext) {
    return ctx.loaders
      .childrenBy(CurriculumRound, 'curriculumId', { first: 1_000, orderBy: 'round' })
      .load(c.id);
  }

  @FieldResolver(() => Run, { nullable: true, description: 'The run the current phase waits for.' })
  currentRun(@Root() c: Curriculum, @Ctx() ctx: RequestContext) {
    return c.currentRunId ? ctx.loaders.byId(Run).load(c.currentRunId) : null;
  }

  @Mutation(() => Curriculum, {
    description:
      'Creates a curriculum (ACTIVE, phase PENDING); with autoAdvance it starts its first probe within seconds.',
  })
  createCurriculum(@Ctx() ctx: RequestContext, @Arg('input') input: CreateCurriculumInput) {
    return this.curriculumService.create(ctx, input);
  }

  @Mutation(() => Curriculum, {
    description: 'Moves an ACTIVE curriculum on as far as it can go now (without autoAdvance).',
  })
  advanceCurriculum(@Ctx() ctx: RequestContext, @Arg('id', () => ID) id: string) {
    return this.curriculumService.advance(ctx, id);
  }

  @Mutation(() => Curriculum, { description: 'Resumes a PAUSED curriculum.' })
  resumeCurriculum(@Ctx() ctx: RequestContext, @Arg('id', () => ID) id: string) {
    return this.curriculumService.resume(ctx, id);
  }

  @Mutation(() => Curriculum, { description: 'Cancels a curriculum and its live run.' })
  cancelCurriculum(@Ctx() ctx: RequestContext, @Arg('id', () => ID) id: string) {
    return this.curriculumService.cancel(ctx, id);
  }
}

@Resolver(() => CurriculumRound)
export class CurriculumRoundResolver {
  @FieldResolver(() => Checkpoint)
  startCheckpoint(@Root() r: CurriculumRound, @Ctx() ctx: RequestContext) {
    return ctx.loaders.byId(Checkpoint).load(r.startCheckpointId);
  }

  @FieldResolver(() => Checkpoint, { nullable: true, description: 'What its SFT run produced.' })
  sftCheckpoint(@Root() r: CurriculumRound, @Ctx() ctx: RequestContext) {
    return r.sftCheckpointId ? ctx.loaders.byId(Checkpoint).load(r.sftCheckpointId) : null;
  }

  @FieldResolver(() => Checkpoint, {
    nullable: true,
    description: 'What the round ended with (its RL run, else its SFT run).',
  })
  endCheckpoint(@Root() r: CurriculumRound, @Ctx() ctx: RequestContext) {
    return r.endCheckpointId ? ctx.loaders.byId(Checkpoint).load(r.endCheckpointId) : null;
  }
}
