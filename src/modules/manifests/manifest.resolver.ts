import { Args, ArgsType, Ctx, Field, FieldResolver, ID, Int, Resolver, Root } from 'type-graphql';
import { IsOptional, Max, Min } from 'class-validator';
import type { RequestContext } from '../../common/request-context';
import { idOf } from '../../common/ids';
import { Manifest } from './manifest.entity';
import { ManifestExclusion } from './manifest-exclusion.entity';
import { ManifestItem } from './manifest-item.entity';
import { exclusionsByManifestId } from './manifest.loaders';
import { Sample } from '../samples/sample.entity';
import { Trace } from '../traces/trace.entity';

@ArgsType()
class ManifestItemsArgs {
  @Field(() => Int, { defaultValue: 0, description: 'Items after this ordinal.' })
  @Min(0)
  afterOrdinal: number = 0;

  @Field(() => Int, { defaultValue: 100 })
  @Min(0)
  @Max(500)
  first: number = 100;
}

@ArgsType()
class ManifestExclusionsArgs {
  @Field(() => Int, { defaultValue: 100 })
  @Min(0)
  @Max(500)
  first: number = 100;

  @Field(() => ID, {
    nullable: true,
    description: 'Exclusions after this sample (its id): they come in sample order.',
  })
  @IsOptional()
  after?: string | null;
}

@Resolver(() => Manifest)
export class ManifestResolver {
  @FieldResolver(() => [ManifestItem], { description: 'Items in order, after afterOrdinal.' })
  items(@Root() m: Manifest, @Ctx() ctx: RequestContext, @Args() args: ManifestItemsArgs) {
    return ctx.loaders
      .childrenBy(ManifestItem, 'manifestId', {
        first: args.first,
        orderBy: 'ordinal',
        after: args.afterOrdinal,
      })
      .load(m.id);
  }

  @FieldResolver(() => [ManifestExclusion], {
    description: 'Samples left out by decontamination, in sample order, after `after`.',
  })
  exclusions(
    @Root() m: Manifest,
    @Ctx() ctx: RequestContext,
    @Args() args: ManifestExclusionsArgs,
  ) {
    const afterSampleId = args.after ? idOf('Sample', args.after) : null;
    return exclusionsByManifestId(ctx, { first: args.first, afterSampleId }).load(m.id);
  }
}

@Resolver(() => ManifestItem)
export class ManifestItemResolver {
  @FieldResolver(() => Sample)
  sample(@Root() i: ManifestItem, @Ctx() ctx: RequestContext) {
    return ctx.loaders.byId(Sample).load(i.sampleId);
  }

  @FieldResolver(() => Trace, { nullable: true })
  trace(@Root() i: ManifestItem, @Ctx() ctx: RequestContext) {
    return i.traceId ? ctx.loaders.byId(Trace).load(i.traceId) : null;
  }
}
