import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import type { Principal } from '../common/auth/principal';
import { LoaderRegistry } from '../common/loaders';
import type { CursorCodec } from '../common/pagination';
import type { Services } from './services';

/** What every resolver and service method receives first: who asks, and per-request state. */
export interface RequestContext {
  requestId: string;
  log: Logger;
  principal: Principal;
  loaders: LoaderRegistry;
  cursors: CursorCodec;
  services: Services;
  ds: DataSource;
}

/** The same context for GraphQL operations and REST handlers, built after authentication. */
export function createRequestContext(
  deps: { ds: DataSource; services: Services; cursors: CursorCodec },
  req: { id: unknown; log: Logger; principal?: Principal },
): RequestContext {
  if (!req.principal) throw new Error('createRequestContext called before authentication');
  return {
    requestId: String(req.id),
    log: req.log,
    principal: req.principal,
    loaders: new LoaderRegistry(deps.ds),
    cursors: deps.cursors,
    services: deps.services,
    ds: deps.ds,
  };
}
