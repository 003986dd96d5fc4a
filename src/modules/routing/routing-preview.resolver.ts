import {
  Arg,
  Args,
  Ctx,
  FieldResolver,
  ID,
  Int,
  Mutation,
  Query,
  Resolver,
  Root,
} from 'type-graphql';
import type { RequestContext } from '../../common/request-context';
import { PageArgs, asConnection } from '../../common/pagination';
import { idOf } from '../../common/ids';
import { badInput } from '../../common/errors';
import { SampleConnection } from '../samples/sample.types';
import { ApplyRoutingResult, AssignmentExplanation, RoutingPreview } from './routing.types';
import type { RoutingService } from './routing.service';

const MAX_DATASETS = 100;

/** Previewing, applying and explaining routing decisions. */
@Resolver(() => RoutingPreview)
export class RoutingPreviewResolver {
  constructor(private readonly routingService: RoutingService) {}

  @Query(() => RoutingPreview, {
    description:
      "Counts per stage under a policy and a checkpoint's pass rates and, given a curriculum round, the moves against its current assignments. Writes nothing.",
  })
  async previewRouting(
    @Ctx() ctx: RequestContext,
    @Arg('policyId', () => ID) policyId: string,
    @Arg('checkpointId', () => ID) checkpointId: string,
    @Arg('datasetIds', () => [ID]) datasetIds: string[],
    @Arg('curriculumId', () => ID, { nullable: true }) curriculumId?: string,
    @Arg('round', () => Int, { nullable: true }) round?: number,
  ) {
    if (datasetIds.length > MAX_DATASETS) {
      throw badInput(`At most ${MAX_DATASETS} datasets`);
    }
    const scope = await this.routingService.scope(ctx, policyId, checkpointId, datasetIds);
    return this.routingService.preview(
      ctx,
      scope,
      curriculumId ? Number(idOf('Curriculum', curriculumId)) : null,
      round ?? null,
    );
  }

  @FieldResolver(() => SampleConnection, { description: 'The samples of one move, paginated.' })
  async samples(
    @Root() preview: RoutingPreview,
    @Ctx() ctx: RequestContext,
    @Arg('from') from: string,
    @Arg('to') to: string,
    @Args() page: PageArgs,
  ) {
    return asConnection(
      SampleConnection,
      await this.routingService.movedSamples(ctx, preview, from, to, page),
    );
  }

  @Mutation(() => ApplyRoutingResult, {
    description:
      "Writes a round's stage assignments in one transaction, each with its reason. Defaults: the curriculum's policy and training datasets. Applying twice changes nothing.",
  })
  applyRouting(
    @Ctx() ctx: RequestContext,
    @Arg('curriculumId', () => ID) curriculumId: string,
    @Arg('round', () => Int) round: number,
    @Arg('checkpointId', () => ID) checkpointId: string,
    @Arg('policyId', () => ID, { nullable: true }) policyId?: string,
    @Arg('datasetIds', () => [ID], { nullable: true }) datasetIds?: string[],
  ) {
    if (round < 1) throw badInput('round starts at 1');
    return this.routingService.apply(ctx, curriculumId, round, policyId, checkpointId, datasetIds);
  }

  @Query(() => AssignmentExplanation, {
    description: 'Why a sample is in its stage in a round of a curriculum (or why it has none).',
  })
  explainAssignment(
    @Ctx() ctx: RequestContext,
    @Arg('sampleId', () => ID) sampleId: string,
    @Arg('curriculumId', () => ID) curriculumId: string,
    @Arg('round', () => Int) round: number,
  ) {
    return this.routingService.explain(ctx, sampleId, curriculumId, round);
  }
}
