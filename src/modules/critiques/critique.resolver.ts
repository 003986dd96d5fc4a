import { Arg, Args, Ctx, FieldResolver, Query, Resolver, Root } from 'type-graphql';
import type { RequestContext } from '../../common/request-context';
import { ConnectionType, PageArgs, asConnection } from '../../common/pagination';
import { Critique } from './critique.entity';
import { CritiqueFilter } from './critique.inputs';
import { Sample } from '../samples/sample.entity';
import { Trace } from '../traces/trace.entity';
import { Run } from '../runs/run.entity';
import type { CritiqueService } from './critique.service';

export const CritiqueConnection = ConnectionType(Critique);

/** Critiques are written by CRITIQUE runs; this module only reads them. */
@Resolver(() => Critique)
export class CritiqueResolver {
  constructor(private readonly critiqueService: CritiqueService) {}

  @Query(() => CritiqueConnection)
  async critiques(
    @Ctx() ctx: RequestContext,
    @Args() page: PageArgs,
    @Arg('filter', () => CritiqueFilter, { nullable: true }) filter?: CritiqueFilter,
  ) {
    return asConnection(
      CritiqueConnection,
      await this.critiqueService.list(ctx, filter ?? {}, page),
    );
  }

  @FieldResolver(() => Sample)
  sample(@Root() c: Critique, @Ctx() ctx: RequestContext) {
    return ctx.loaders.byId(Sample).load(c.sampleId);
  }

  @FieldResolver(() => Trace, { description: 'The rollout that failed.' })
  failedTrace(@Root() c: Critique, @Ctx() ctx: RequestContext) {
    return ctx.loaders.byId(Trace).load(c.failedTraceId);
  }

  @FieldResolver(() => Trace, { nullable: true })
  repairTrace(@Root() c: Critique, @Ctx() ctx: RequestContext) {
    return c.repairTraceId ? ctx.loaders.byId(Trace).load(c.repairTraceId) : null;
  }

  @FieldResolver(() => Trace, { nullable: true })
  solutionTrace(@Root() c: Critique, @Ctx() ctx: RequestContext) {
    return c.solutionTraceId ? ctx.loaders.byId(Trace).load(c.solutionTraceId) : null;
  }

  @FieldResolver(() => Run, { nullable: true })
  run(@Root() c: Critique, @Ctx() ctx: RequestContext) {
    return c.runId ? ctx.loaders.byId(Run).load(c.runId) : null;
  }
}
