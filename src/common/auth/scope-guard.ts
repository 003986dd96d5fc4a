import type { MiddlewareFn } from 'type-graphql';
import type { RequestContext } from '../request-context';
import { requireScope } from './principal';
import { rootFieldScope } from './root-scopes';

/**
 * The root-field scope check as a middleware, for a subscription's subscribe function (which
 * guardRootFields, wrapping resolvers, does not cover): a key without READ must not open the
 * stream and read rows before its first event is refused.
 */
export const scopeGuard: MiddlewareFn<RequestContext> = ({ info, context }, next) => {
  if (info.path.prev === undefined) {
    requireScope(
      context.principal,
      rootFieldScope(info.parentType, info.fieldName, info.operation.operation),
    );
  }
  return next();
};
