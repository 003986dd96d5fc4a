import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import type { ApiKeyService } from '../modules/api-keys/api-key.service';
import type { Principal } from '../common/auth/principal';
import { HTTP_STATUS, toAppError, unauthenticated, type AppError } from '../common/errors';

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

/** The token of a `Bearer <token>` value (a header or a connection param), or undefined. */
export function parseBearer(value: unknown): string | undefined {
  return typeof value === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(value)?.[1] : undefined;
}

/** The bearer token of a request, or undefined. */
export function bearerToken(req: Request): string | undefined {
  return parseBearer(req.headers.authorization);
}

/** How each surface shows an error: GraphQL's errors array, or the REST { error } object. */
export type ErrorShape = 'graphql' | 'rest';

export function sendError(
  res: Response,
  error: AppError,
  shape: ErrorShape,
  status?: number,
): void {
  // Refused before its body was read (a missing key, a bad header, a line over a limit): the
  // socket is closed after the answer, so the client stops sending instead of filling a dead
  // connection, and Node does not read a multi-GB rest just to reuse the socket.
  if (!res.req.complete) res.setHeader('Connection', 'close');
  const body =
    shape === 'graphql'
      ? { errors: [{ message: error.message, extensions: { code: error.code, ...error.details } }] }
      : { error: { code: error.code, message: error.message, ...error.details } };
  res.status(status ?? HTTP_STATUS[error.code]).json(body);
}

/** Keys already looked up for a request by the lean GraphQL path, which then handed it over. */
const lookedUp = new WeakMap<IncomingMessage, Principal | null>();

/** The lean path's lookup, so the full stack does not ask the database a second time. */
export function rememberAuthentication(req: IncomingMessage, principal: Principal | null): void {
  lookedUp.set(req, principal);
}

/**
 * Resolves the API key before anything else runs: no key, an unknown key or a revoked key is
 * UNAUTHENTICATED (401). Scopes are checked later, per field or endpoint.
 */
export function authenticate(apiKeys: ApiKeyService, shape: ErrorShape) {
  return (req: Request, res: Response, next: NextFunction) => {
    const token = bearerToken(req);
    if (!token) {
      sendError(res, unauthenticated('Send an API key as "Authorization: Bearer <key>"'), shape);
      return;
    }
    const known = lookedUp.get(req);
    (known !== undefined ? Promise.resolve(known) : apiKeys.authenticate(token))
      .then((principal) => {
        if (!principal) {
          sendError(res, unauthenticated('The API key is unknown or revoked'), shape);
          return;
        }
        req.principal = principal;
        next();
      })
      .catch((err: unknown) => {
        req.log.error({ err }, 'authentication failed');
        sendError(res, toAppError(err), shape);
      });
  };
}
