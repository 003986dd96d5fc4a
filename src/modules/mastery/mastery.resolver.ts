import { Arg, Ctx, ID, Int, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../common/request-context';
import { PassRateHistogram } from './mastery.types';
import type { MasteryService } from './mastery.service';

@Resolver()
export class MasteryResolver {
  constructor(private readonly masteryService: MasteryService) {}

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
    return this.masteryService.histogram(ctx, checkpointId, datasetId, bins);
  }
}
