import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * A request's id: the client's `x-request-id` when it is a plain token, otherwise a fresh UUID;
 * echoed in the response header. Shared by the request log (pino-http) and the lean GraphQL path
 * (lean-graphql.ts), so both name requests the same way.
 */
export function requestIdFor(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
  res.setHeader('x-request-id', id);
  return id;
}
