import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { AppError, badInput, toAppError } from '../common/errors';
import { sendError } from './auth.middleware';

/** body-parser's errors, which carry a `type` and a status of their own. */
function fromBodyParser(err: unknown): { error: AppError; status: number } | undefined {
  const type = (err as { type?: unknown } | null)?.type;
  if (type === 'entity.too.large') {
    const limit = (err as { limit?: number }).limit;
    return {
      error: badInput(`The request body is larger than the limit of ${limit} bytes`),
      status: 413,
    };
  }
  if (type === 'entity.parse.failed')
    return { error: badInput('The request body is not valid JSON'), status: 400 };
  return undefined;
}

/**
 * The last Express handler: every error becomes a coded response in the shape of its surface;
 * unknown errors are logged here and reach the client only as INTERNAL.
 */
export function httpErrorHandler(log: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const shape = req.originalUrl.startsWith('/graphql') ? 'graphql' : 'rest';
    const parsed = fromBodyParser(err);
    const error = parsed?.error ?? toAppError(err);
    if (error.code === 'INTERNAL') (req.log ?? log).error({ err }, 'unexpected error');
    if (res.headersSent) {
      // Mid-stream (an export): all we can do is cut the response so the client sees it fail.
      res.destroy();
      return;
    }
    const status = parsed?.status ?? (error.details.httpStatus as number | undefined);
    const { httpStatus: _drop, ...details } = error.details;
    sendError(res, new AppError(error.code, error.message, details), shape, status);
  };
}
