import {
  defaultFieldResolver,
  OperationTypeNode,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';
import { requireScope, type Principal } from './principal';
import { ApiKeyScope } from './scopes';

/** The scope a root field of `operation` needs: its declared @Extensions({ scope }), or the default. */
export function rootFieldScope(
  type: GraphQLObjectType,
  fieldName: string,
  operation: OperationTypeNode,
): ApiKeyScope {
  const declared = type.getFields()[fieldName]?.extensions?.scope;
  if (typeof declared === 'string') return declared as ApiKeyScope;
  return operation === OperationTypeNode.MUTATION ? ApiKeyScope.WRITE : ApiKeyScope.READ;
}

/**
 * Secure by default: every root query and subscription field needs READ and every root mutation
 * WRITE, unless the field declares another scope with @Extensions({ scope }). Nested fields inherit
 * their root's, so only root fields are wrapped, once, when the schema is built: a middleware
 * around every field cost thousands of closures and promises per large response.
 */
export function guardRootFields(schema: GraphQLSchema): void {
  const roots: [GraphQLObjectType | null | undefined, OperationTypeNode][] = [
    [schema.getQueryType(), OperationTypeNode.QUERY],
    [schema.getMutationType(), OperationTypeNode.MUTATION],
    [schema.getSubscriptionType(), OperationTypeNode.SUBSCRIPTION],
  ];
  for (const [type, operation] of roots) {
    if (!type) continue;
    for (const field of Object.values(type.getFields())) {
      const required = rootFieldScope(type, field.name, operation);
      const resolve = field.resolve ?? defaultFieldResolver;
      field.resolve = (source, args, context: { principal: Principal }, info) => {
        requireScope(context.principal, required);
        return resolve(source, args, context, info);
      };
      // A subscription is checked when it opens too: a key without the scope must not open the
      // stream (and read rows) before its first event is refused.
      const subscribe = field.subscribe;
      if (subscribe) {
        field.subscribe = (source, args, context: { principal: Principal }, info) => {
          requireScope(context.principal, required);
          return subscribe(source, args, context, info);
        };
      }
    }
  }
}
