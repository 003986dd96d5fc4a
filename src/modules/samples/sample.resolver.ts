import {
  Arg,
  Args,
  ArgsType,
  Ctx,
  Field,
  FieldResolver,
  ID,
  Info,
  Int,
  Mutation,
  Query,
  Resolver,
  Root,
} from 'type-graphql';
import { IsOptional, Max, Min } from 'class-validator';
import type { GraphQLResolveInfo } from 'graphql';
import type { RequestContext } from '../../common/request-context';
import { selectedFields } from '../../common/selection';
import { PageArgs, asConnection } from '../../common/pagination';
import { idOf } from '../../common/ids';
import { Sample } from './sample.entity';
import { ImportSamplesInput, SampleFilter } from './sample.inputs';
import { ImportSamplesResult } from './sample.import';
import { Dataset } from '../datasets/dataset.entity';
import { Trace, TraceKind } from '../traces/trace.entity';
import { PassRate } from '../mastery/pass-rate.entity';
import { StageAssignment } from '../routing/stage-assignment.entity';
import type { SampleService } from './sample.service';
import { SampleConnection } from './sample.types';

/** Nested lists are bounded; page further through the root fields with a filter. */
export const NESTED_MAX = 100;

@ArgsType()
class SampleTracesArgs {
  @Field(() => Int, {
    defaultValue: 20,
    description: `At most ${NESTED_MAX}; use traces(filter) for more.`,
  })
  @Min(0)
  @Max(NESTED_MAX)
  first: number = 20;

  @Field(() => TraceKind, { nullable: true })
  kind?: TraceKind;

  @Field(() => Boolean, { nullable: true })
  correct?: boolean;
}

@ArgsType()
class SamplePassRatesArgs {
  @Field(() => ID, { nullable: true, description: 'Only under this checkpoint.' })
  checkpointId?: string;

  @Field(() => Int, { defaultValue: 20 })
  @Min(0)
  @Max(NESTED_MAX)
  first: number = 20;
}

@ArgsType()
class SampleAssignmentsArgs {
  @Field(() => ID, { nullable: true })
  curriculumId?: string;

  @Field(() => Int, { nullable: true })
  @IsOptional()
  @Min(1)
  round?: number;

  @Field(() => Int, { defaultValue: 20 })
  @Min(0)
  @Max(NESTED_MAX)
  first: number = 20;
}

@Resolver(() => Sample)
export class SampleResolver {
  constructor(private readonly sampleService: SampleService) {}

  @Query(() => SampleConnection, { description: 'Samples in a stable order (oldest first).' })
  async samples(
    @Ctx() ctx: RequestContext,
    @Args() page: PageArgs,
    @Info() info: GraphQLResolveInfo,
    @Arg('filter', () => SampleFilter, { nullable: true }) filter?: SampleFilter,
  ) {
    const fields = selectedFields(info, 'Sample', 'connection');
    return asConnection(
      SampleConnection,
      await this.sampleService.list(ctx, filter ?? {}, page, fields),
    );
  }

  @Mutation(() => ImportSamplesResult, {
    description:
      'Adds up to 1,000 samples to a dataset. Idempotent per externalId; a problem already in the dataset is reported as a duplicate, not inserted.',
  })
  importSamples(@Ctx() ctx: RequestContext, @Arg('input') input: ImportSamplesInput) {
    return this.sampleService.import(ctx, input);
  }

  @FieldResolver(() => Dataset)
  async dataset(@Root() sample: Sample, @Ctx() ctx: RequestContext) {
    return ctx.loaders.byId(Dataset).load(sample.datasetId);
  }

  @FieldResolver(() => [Trace], { description: 'The first traces of this sample, oldest first.' })
  traces(
    @Root() sample: Sample,
    @Ctx() ctx: RequestContext,
    @Args() args: SampleTracesArgs,
    @Info() info: GraphQLResolveInfo,
  ) {
    return ctx.loaders
      .childrenBy(
        Trace,
        'sampleId',
        { first: args.first, where: { kind: args.kind, correct: args.correct } },
        selectedFields(info, 'Trace', 'rows'),
      )
      .load(sample.id);
  }

  @FieldResolver(() => [PassRate])
  passRates(@Root() sample: Sample, @Ctx() ctx: RequestContext, @Args() args: SamplePassRatesArgs) {
    const checkpointId = args.checkpointId
      ? Number(idOf('Checkpoint', args.checkpointId))
      : undefined;
    return ctx.loaders
      .childrenBy(PassRate, 'sampleId', { first: args.first, where: { checkpointId } })
      .load(sample.id);
  }

  @FieldResolver(() => [StageAssignment], { description: 'Stages this sample was routed to.' })
  assignments(
    @Root() sample: Sample,
    @Ctx() ctx: RequestContext,
    @Args() args: SampleAssignmentsArgs,
  ) {
    const curriculumId = args.curriculumId
      ? Number(idOf('Curriculum', args.curriculumId))
      : undefined;
    return ctx.loaders
      .childrenBy(StageAssignment, 'sampleId', {
        first: args.first,
        where: { curriculumId, round: args.round },
      })
      .load(sample.id);
  }
}
