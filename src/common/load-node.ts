import type { ObjectLiteral } from 'typeorm';
import type { RequestContext } from './request-context';
import { notFound } from './errors';
import { idOf } from './ids';

/**
 * The row a global id names, through the request's loader. The id must be of `entity`'s type
 * (else BAD_USER_INPUT) and the row must exist (else NOT_FOUND).
 */
export async function loadNode<T extends ObjectLiteral & { id: string | number }>(
  ctx: RequestContext,
  entity: { new (): T; name: string },
  globalId: string,
): Promise<T> {
  const row = await ctx.loaders.byId(entity).load(idOf(entity.name, globalId));
  if (!row) throw notFound(entity.name, globalId);
  return row;
}
