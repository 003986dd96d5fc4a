import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { RequestContext } from '../../common/request-context';
import { RunEvent } from './run-event.entity';
import { Run } from './run.entity';

@Resolver(() => RunEvent)
export class RunEventResolver {
  @FieldResolver(() => Run)
  run(@Root() e: RunEvent, @Ctx() ctx: RequestContext) {
    return ctx.loaders.byId(Run).load(e.runId);
  }
}
