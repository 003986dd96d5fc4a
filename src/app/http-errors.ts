import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { AppError, badInput, toAppError } from '../common/errors';
import { sendError } from './auth.middleware';

/** What a 4xx thrown by Express's own layers (body-parser, the router) carries. */
interface HttpLayerError {
  type?: unknown;
  status?: unknown;
  expose?: unknown;
  limit?: unknown;
  charset?: unknown;
  code?: unknown;
}

/**
 * Errors of body-parser and the router, which carry a status (and for body-parser a `type`) of
 * their own, as coded client errors. Their own messages stay out: ours name the setting or fix.
 */
function fromHttpLayer(err: unknown): { error: AppError; status: number } | undefined {
  if (err instanceof AppError) return undefined;
  const e = (err ?? {}) as HttpLayerError;
  const status = typeof e.status === 'number' ? e.status : undefined;
  switch (e.type) {
    case 'entity.too.large':
      return {
        error: badInput(`The request body is larger than the limit of ${String(e.limit)} bytes`, {
          limitBytes: e.limit,
        }),
        status: 413,
      };
    case 'entity.parse.failed':
      return { error: badInput('The request body is not valid JSON'), status: 400 };
    case 'charset.unsupported':
      return {
        error: badInput(`The charset "${String(e.charset)}" is not supported; send UTF-8`),
        status: 415,
      };
    case 'encoding.unsupported':
      return {
        error: badInput('This Content-Encoding is not supported; send identity or gzip'),
        status: 415,
      };
  }
  if (err instanceof URIError && status === 400) {
    return { error: badInput('The path holds malformed percent-encoding'), status: 400 };
  }
  // zlib's errors wrapped by body-parser (a corrupt or truncated gzip body).
  if (typeof e.code === 'string' && e.code.startsWith('Z_') && status === 400) {
    return { error: badInput('The body is not valid gzip'), status: 400 };
  }
  if (status !== undefined && status >= 400 && status < 500 && e.expose === true) {
    return { error: badInput('The request could not be read'), status };
  }
  return undefined;
}

/**
 * The last Express handler: every error becomes a coded response in the shape of its surface;
 * unknown errors are logged here and reach the client only as INTERNAL.
 */
export function httpErrorHandler(log: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const shape = req.originalUrl.startsWith('/graphql') ? 'graphql' : 'rest';
    const parsed = fromHttpLayer(err);
    const error = parsed?.error ?? toAppError(err);
    if (error.code === 'INTERNAL') (req.log ?? log).error({ err }, 'unexpected error');
    if (res.headersSent || res.destroyed) {
      // Mid-stream (an export): all we can do is cut the response so the client sees it fail.
      res.destroy();
      return;
    }
    const status = parsed?.status ?? (error.details.httpStatus as number | undefined);
    const { httpStatus: _drop, ...details } = error.details;
    sendError(res, new AppError(error.code, error.message, details), shape, status);
  };
}
