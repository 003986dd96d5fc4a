import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import type { Principal } from './auth/principal';
import { LoaderRegistry } from './loaders';
import type { CursorCodec } from './pagination';
import type { AnnouncementSource } from './pubsub/bus';

/**
 * What every resolver and service method receives first: who asks, and per-request state.
 * It carries no services: resolvers and services get theirs through their constructors, from
 * the composition root (src/app/services.ts), so who calls whom shows in the code.
 */
export interface RequestContext {
  requestId: string;
  log: Logger;
  principal: Principal;
  loaders: LoaderRegistry;
  cursors: CursorCodec;
  ds: DataSource;
  /**
   * The listening side of the pub/sub (common/pubsub): what subscriptions wait on. Infrastructure
   * like `ds`, here because type-graphql's subscribe functions see only the context.
   */
  announcements: AnnouncementSource;
}

/** The same context for GraphQL operations and REST handlers, built after authentication. */
export function createRequestContext(
  deps: { ds: DataSource; cursors: CursorCodec; announcements: AnnouncementSource },
  req: { id: unknown; log: Logger; principal?: Principal },
): RequestContext {
  if (!req.principal) throw new Error('createRequestContext called before authentication');
  return {
    requestId: String(req.id),
    log: req.log,
    principal: req.principal,
    loaders: new LoaderRegistry(deps.ds),
    cursors: deps.cursors,
    ds: deps.ds,
    announcements: deps.announcements,
  };
}
