import { Arg, Args, Ctx, FieldResolver, Info, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { GraphQLResolveInfo } from 'graphql';
import type { RequestContext } from '../../common/request-context';
import { selectedFields } from '../../common/selection';
import { ConnectionType, PageArgs, asConnection } from '../../common/pagination';
import { Trace } from './trace.entity';
import { ImportTracesInput, TraceFilter } from './trace.inputs';
import { ImportTracesResult } from './trace.import';
import { Sample } from '../samples/sample.entity';
import { Run } from '../runs/run.entity';
import type { TraceService } from './trace.service';

export const TraceConnection = ConnectionType(Trace);

@Resolver(() => Trace)
export class TraceResolver {
  constructor(private readonly traceService: TraceService) {}

  @Query(() => TraceConnection, { description: 'Traces in a stable order (oldest first).' })
  async traces(
    @Ctx() ctx: RequestContext,
    @Args() page: PageArgs,
    @Info() info: GraphQLResolveInfo,
    @Arg('filter', () => TraceFilter, { nullable: true }) filter?: TraceFilter,
  ) {
    const fields = selectedFields(info, 'Trace', 'connection');
    return asConnection(
      TraceConnection,
      await this.traceService.list(ctx, filter ?? {}, page, fields),
    );
  }

  @Mutation(() => ImportTracesResult, {
    description:
      'Adds up to 1,000 traces to samples of a dataset; idempotent per (sample, externalId).',
  })
  importTraces(@Ctx() ctx: RequestContext, @Arg('input') input: ImportTracesInput) {
    return this.traceService.import(ctx, input);
  }

  @FieldResolver(() => Sample)
  sample(@Root() trace: Trace, @Ctx() ctx: RequestContext) {
    return ctx.loaders.byId(Sample).load(trace.sampleId);
  }

  @FieldResolver(() => Trace, {
    nullable: true,
    description: 'The trace this one was derived from.',
  })
  parent(@Root() trace: Trace, @Ctx() ctx: RequestContext) {
    return trace.parentTraceId ? ctx.loaders.byId(Trace).load(trace.parentTraceId) : null;
  }

  @FieldResolver(() => Run, { nullable: true, description: 'The run that wrote it.' })
  run(@Root() trace: Trace, @Ctx() ctx: RequestContext) {
    return trace.runId ? ctx.loaders.byId(Run).load(trace.runId) : null;
  }
}
