import { Arg, Args, Ctx, Extensions, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../app/context';
import { ConnectionType, PageArgs, asConnection } from '../../common/pagination';
import { idOf } from '../../common/ids';
import { ApiKey } from './api-key.entity';
import { CreateApiKeyInput, CreatedApiKey } from './api-key.inputs';

export const ApiKeyConnection = ConnectionType(ApiKey);

/** Key management: ADMIN only (see the scope guard). */
@Resolver(() => ApiKey)
export class ApiKeyResolver {
  @Query(() => ApiKeyConnection)
  @Extensions({ scope: 'ADMIN' })
  async apiKeys(@Ctx() ctx: RequestContext, @Args() page: PageArgs) {
    return asConnection(ApiKeyConnection, await ctx.services.apiKeys.list(ctx, page));
  }

  @Mutation(() => CreatedApiKey)
  @Extensions({ scope: 'ADMIN' })
  createApiKey(@Ctx() ctx: RequestContext, @Arg('input') input: CreateApiKeyInput) {
    return ctx.services.apiKeys.create(input);
  }

  @Mutation(() => ApiKey, { description: 'Revoked keys are refused from the next request on.' })
  @Extensions({ scope: 'ADMIN' })
  revokeApiKey(@Ctx() ctx: RequestContext, @Arg('id', () => ID) id: string) {
    return ctx.services.apiKeys.revoke(idOf('ApiKey', id));
  }
}
