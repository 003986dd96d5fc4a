import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { RequestContext } from '../../common/request-context';
import { PassRate } from './pass-rate.entity';
import { Sample } from '../samples/sample.entity';
import { Checkpoint } from '../checkpoints/checkpoint.entity';

@Resolver(() => PassRate)
export class PassRateResolver {
  @FieldResolver(() => Sample)
  sample(@Root() p: PassRate, @Ctx() ctx: RequestContext) {
    return ctx.loaders.byId(Sample).load(p.sampleId);
  }

  @FieldResolver(() => Checkpoint)
  checkpoint(@Root() p: PassRate, @Ctx() ctx: RequestContext) {
    return ctx.loaders.byId(Checkpoint).load(p.checkpointId);
  }
}
