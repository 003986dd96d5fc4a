import { OperationTypeNode } from 'graphql';
import type { MiddlewareFn } from 'type-graphql';
import type { RequestContext } from '../request-context';
import { requireScope } from './principal';
import { ApiKeyScope } from './scopes';

/**
 * Secure by default: every root query needs READ and every root mutation WRITE, unless the
 * field declares another scope with @Extensions({ scope }). Nested fields inherit their root's.
 */
export const scopeGuard: MiddlewareFn<RequestContext> = ({ info, context }, next) => {
  if (info.path.prev === undefined) {
    const declared = info.parentType.getFields()[info.fieldName]?.extensions?.scope;
    const required =
      typeof declared === 'string'
        ? (declared as ApiKeyScope)
        : info.operation.operation === OperationTypeNode.MUTATION
          ? ApiKeyScope.WRITE
          : ApiKeyScope.READ;
    requireScope(context.principal, required);
  }
  return next();
};
