import { Arg, Args, Ctx, Extensions, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../common/request-context';
import { ConnectionType, PageArgs, asConnection } from '../../common/pagination';
import { idOf } from '../../common/ids';
import { ApiKey } from './api-key.entity';
import { CreateApiKeyInput, CreatedApiKey } from './api-key.inputs';
import type { ApiKeyService } from './api-key.service';

export const ApiKeyConnection = ConnectionType(ApiKey);

/** Key management: ADMIN only (see the scope guard). */
@Resolver(() => ApiKey)
export class ApiKeyResolver {
  constructor(private readonly apiKeyService: ApiKeyService) {}

  @Query(() => ApiKeyConnection)
  @Extensions({ scope: 'ADMIN' })
  async apiKeys(@Ctx() ctx: RequestContext, @Args() page: PageArgs) {
    return asConnection(ApiKeyConnection, await this.apiKeyService.list(ctx, page));
  }

  @Mutation(() => CreatedApiKey)
  @Extensions({ scope: 'ADMIN' })
  createApiKey(@Arg('input') input: CreateApiKeyInput) {
    return this.apiKeyService.create(input);
  }

  @Mutation(() => ApiKey, { description: 'Revoked keys are refused from the next request on.' })
  @Extensions({ scope: 'ADMIN' })
  revokeApiKey(@Arg('id', () => ID) id: string) {
    return this.apiKeyService.revoke(idOf('ApiKey', id));
  }
}
