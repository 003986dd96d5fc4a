import { Arg, Args, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { RequestContext } from '../../common/request-context';
import { ConnectionType, PageArgs, asConnection } from '../../common/pagination';
import { RoutingPolicy } from './routing-policy.entity';
import { StageAssignment } from './stage-assignment.entity';
import { CreateRoutingPolicyInput, StageAssignmentFilter } from './routing.inputs';
import { Sample } from '../samples/sample.entity';
import { Checkpoint } from '../checkpoints/checkpoint.entity';
import { Curriculum } from '../curricula/curriculum.entity';
import type { RoutingService } from './routing.service';

export const RoutingPolicyConnection = ConnectionType(RoutingPolicy);
export const StageAssignmentConnection = ConnectionType(StageAssignment);

@Resolver(() => RoutingPolicy)
export class RoutingPolicyResolver {
  constructor(private readonly routingService: RoutingService) {}

  @Query(() => RoutingPolicyConnection, { description: 'Policy versions, oldest first.' })
  async routingPolicies(
    @Ctx() ctx: RequestContext,
    @Args() page: PageArgs,
    @Arg('name', () => String, { nullable: true }) name?: string,
  ) {
    return asConnection(
      RoutingPolicyConnection,
      await this.routingService.listPolicies(ctx, name, page),
    );
  }

  @Mutation(() => RoutingPolicy, { description: 'A new policy, or the next version of one.' })
  createRoutingPolicy(@Ctx() ctx: RequestContext, @Arg('input') input: CreateRoutingPolicyInput) {
    return this.routingService.createPolicy(ctx, input);
  }
}

@Resolver(() => StageAssignment)
export class StageAssignmentResolver {
  constructor(private readonly routingService: RoutingService) {}

  @Query(() => StageAssignmentConnection)
  async stageAssignments(
    @Ctx() ctx: RequestContext,
    @Args() page: PageArgs,
    @Arg('filter', () => StageAssignmentFilter, { nullable: true }) filter?: StageAssignmentFilter,
  ) {
    return asConnection(
      StageAssignmentConnection,
      await this.routingService.listAssignments(ctx, filter ?? {}, page),
    );
  }

  @FieldResolver(() => Sample)
  sample(@Root() a: StageAssignment, @Ctx() ctx: RequestContext) {
    return ctx.loaders.byId(Sample).load(a.sampleId);
  }

  @FieldResolver(() => RoutingPolicy)
  policy(@Root() a: StageAssignment, @Ctx() ctx: RequestContext) {
    return ctx.loaders.byId(RoutingPolicy).load(a.policyId);
  }

  @FieldResolver(() => Checkpoint, { description: 'The checkpoint whose pass rate routed it.' })
  checkpoint(@Root() a: StageAssignment, @Ctx() ctx: RequestContext) {
    return ctx.loaders.byId(Checkpoint).load(a.checkpointId);
  }

  @FieldResolver(() => Curriculum)
  curriculum(@Root() a: StageAssignment, @Ctx() ctx: RequestContext) {
    return ctx.loaders.byId(Curriculum).load(a.curriculumId);
  }
}
