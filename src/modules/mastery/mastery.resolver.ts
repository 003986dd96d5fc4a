import { Arg, Ctx, ID, Int, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../app/context';
import { PassRateHistogram } from './mastery.types';

@Resolver()
export class MasteryResolver {
  @Query(() => PassRateHistogram, {
    description:
      "How a checkpoint's pass rates spread over a dataset's samples (all datasets when none is given), for plots.",
  })
  passRateHistogram(
    @Ctx() ctx: RequestContext,
    @Arg('checkpointId', () => ID) checkpointId: string,
    @Arg('datasetId', () => ID, { nullable: true }) datasetId?: string,
    @Arg('bins', () => Int, { defaultValue: 10 }) bins: number = 10,
  ) {
    return ctx.services.mastery.histogram(ctx, checkpointId, datasetId, bins);
  }
}
