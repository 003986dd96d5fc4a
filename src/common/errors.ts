import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { ArgumentValidationError } from 'type-graphql';
import type { ValidationError } from 'class-validator';
import { describePgError, isDatabaseUnavailable } from './pg-errors';

/** The closed set of error codes a client of stagewise can see. */
export const ERROR_CODES = [
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'CONFLICT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'INTERNAL',
  'SERVICE_UNAVAILABLE',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** HTTP status each code maps to on the REST endpoints (and on GraphQL where Apollo allows). */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  BAD_USER_INPUT: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  INTERNAL: 500,
  SERVICE_UNAVAILABLE: 503,
};

/**
 * A domain error: what services throw. Its message is written for the user, and `details`
 * (a field path, a line number...) travel to the client as extensions.
 */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const badInput = (message: string, details?: Record<string, unknown>) =>
  new AppError('BAD_USER_INPUT', message, details);
export const notFound = (what: string, id: string) =>
  new AppError('NOT_FOUND', `${what} ${id} does not exist`, { id });
export const conflict = (message: string, details?: Record<string, unknown>) =>
  new AppError('CONFLICT', message, details);
export const unauthenticated = (message = 'A valid API key is required') =>
  new AppError('UNAUTHENTICATED', message);
export const forbidden = (message: string) => new AppError('FORBIDDEN', message);

function describeValidation(errors: ValidationError[], prefix = ''): string[] {
  return errors.flatMap((e) => {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((m) => `${field}: ${m}`);
    return [...own, ...describeValidation(e.children ?? [], field)];
  });
}

/**
 * The one mapping from anything thrown to a client-safe error. A database that cannot be reached
 * is SERVICE_UNAVAILABLE (503, retry later). Unknown errors become INTERNAL
 * with a generic message; the caller logs the original.
 */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof ArgumentValidationError) {
    const problems = describeValidation(error.extensions.validationErrors);
    return badInput(`Invalid input: ${problems.join('; ')}`, { problems });
  }
  // Database errors the input caused, in our words: PostgreSQL's name tables and values.
  const pg = describePgError(error);
  if (pg) return new AppError(pg.code, pg.message);
  // The database stopped or restarting: not the request's fault, and worth retrying.
  if (isDatabaseUnavailable(error)) {
    return new AppError('SERVICE_UNAVAILABLE', 'The database is unavailable; retry shortly');
  }
  return new AppError('INTERNAL', 'Internal server error');
}

const GRAPHQL_BUILTIN_CODES: Record<string, ErrorCode> = {
  GRAPHQL_PARSE_FAILED: 'BAD_USER_INPUT',
  GRAPHQL_VALIDATION_FAILED: 'BAD_USER_INPUT',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  PERSISTED_QUERY_NOT_FOUND: 'BAD_USER_INPUT',
  PERSISTED_QUERY_NOT_SUPPORTED: 'BAD_USER_INPUT',
  OPERATION_RESOLUTION_FAILURE: 'BAD_USER_INPUT',
  BAD_REQUEST: 'BAD_USER_INPUT',
};

/**
 * Apollo's formatError: every error leaving the server carries one of ERROR_CODES, and nothing
 * else (no stack, SQL or path) unless it is a domain error written for the user.
 */
export function formatGraphQLError(
  formatted: GraphQLFormattedError,
  error: unknown,
  logUnknown: (err: unknown) => void,
): GraphQLFormattedError {
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  const builtin = formatted.extensions?.code;
  if (
    !(original instanceof AppError) &&
    !(original instanceof ArgumentValidationError) &&
    original instanceof GraphQLError
  ) {
    const code =
      typeof builtin === 'string'
        ? (GRAPHQL_BUILTIN_CODES[builtin] ??
          (ERROR_CODES.includes(builtin as ErrorCode) && builtin !== 'INTERNAL'
            ? (builtin as ErrorCode)
            : undefined))
        : undefined;
    if (code) {
      // Errors from parsing, validation and the limit checks: written for the client already.
      const { stacktrace: _s, http: _h, ...extensions } = formatted.extensions ?? {};
      return {
        message: formatted.message,
        locations: formatted.locations,
        path: formatted.path,
        extensions: { ...extensions, code },
      };
    }
  }
  const appError = toAppError(original);
  if (appError.code === 'INTERNAL') logUnknown(original);
  return {
    message: appError.message,
    locations: formatted.locations,
    path: formatted.path,
    extensions: { code: appError.code, ...appError.details },
  };
}
