import type { Request } from 'express';
import type { RequestContext } from './request-context';

/** The limits the REST routers enforce: the part of the server's config (src/app/config.ts) they read. */
export interface RestLimits {
  NDJSON_BODY_LIMIT_BYTES: number;
  NDJSON_MAX_LINE_BYTES: number;
  RUNNER_BODY_LIMIT: string;
  JSON_MAX_DEPTH: number;
}

/**
 * What every module's REST router gets from the composition root (src/app/server.ts): its limits
 * and the request's context, built after authentication. Each router adds the services it calls.
 */
export interface RestDeps {
  config: RestLimits;
  contextOf(req: Request): RequestContext;
}
