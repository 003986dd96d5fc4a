import { Arg, Ctx, ID, Query, Resolver } from 'type-graphql';
import type { EntityTarget, ObjectLiteral } from 'typeorm';
import type { RequestContext } from './context';
import { Node } from '../common/db/base.entity';
import { ENTITIES } from '../common/db/entities';
import { fromGlobalId } from '../common/ids';
import { notFound } from '../common/errors';
import { ApiKey } from '../modules/api-keys/api-key.entity';

type NodeEntity = EntityTarget<ObjectLiteral & { id: string | number }>;

/**
 * Every type node(id) can return, by the type name inside the global id: the entities that are
 * GraphQL nodes, but API keys, which are ADMIN data reachable only through apiKeys. A Map, so
 * that "constructor" or "toString" cannot reach Object.prototype.
 */
const NODE_TYPES = new Map<string, NodeEntity>(
  ENTITIES.filter((e) => e.prototype instanceof Node && e !== ApiKey).map((e) => [e.name, e]),
);

@Resolver()
export class NodeResolver {
  @Query(() => Node, {
    description: 'Any object by its global id. NOT_FOUND when it does not exist.',
  })
  async node(@Ctx() ctx: RequestContext, @Arg('id', () => ID) id: string): Promise<Node> {
    const { type, id: pk } = fromGlobalId(id);
    const entity = NODE_TYPES.get(type);
    const found = entity ? await ctx.loaders.byId(entity).load(pk) : null;
    if (!found) throw notFound('Object', id);
    return found as unknown as Node;
  }
}
