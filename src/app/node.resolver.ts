import { Arg, Ctx, ID, Info, Query, Resolver } from 'type-graphql';
import type { GraphQLResolveInfo } from 'graphql';
import type { EntityTarget, ObjectLiteral } from 'typeorm';
import type { RequestContext } from '../common/request-context';
import { Node } from '../common/db/base.entity';
import { ENTITIES } from './entities';
import { fromGlobalId } from '../common/ids';
import { notFound } from '../common/errors';
import { requireScope } from '../common/auth/principal';
import { nodeScope } from './node-scopes';
import { selectedFields } from '../common/selection';

type NodeEntity = EntityTarget<ObjectLiteral & { id: string | number }>;

/**
 * Every type node(id) can return, by the type name inside the global id: the entities that are
 * GraphQL nodes and have a scope in NODE_SCOPES. A Map, so that "constructor" or "toString"
 * cannot reach Object.prototype.
 */
const NODE_TYPES = new Map<string, NodeEntity>(
  ENTITIES.filter((e) => e.prototype instanceof Node && nodeScope(e.name)).map((e) => [e.name, e]),
);

@Resolver()
export class NodeResolver {
  @Query(() => Node, {
    description:
      'Any object by its global id, when the key may read that type through its own root field ' +
      '(FORBIDDEN otherwise). NOT_FOUND when it does not exist.',
  })
  async node(
    @Ctx() ctx: RequestContext,
    @Arg('id', () => ID) id: string,
    @Info() info: GraphQLResolveInfo,
  ): Promise<Node> {
    const { type, id: pk } = fromGlobalId(id);
    const entity = NODE_TYPES.get(type);
    if (!entity) throw notFound('Object', id);
    // Checked on the type alone, before any read, so a refusal says nothing about existence.
    requireScope(ctx.principal, nodeScope(type)!);
    // Only the columns of the fields selected on this type (for entities that allow it).
    const found = await ctx.loaders.byId(entity, selectedFields(info, type, 'rows')).load(pk);
    if (!found) throw notFound('Object', id);
    return found as unknown as Node;
  }
}
