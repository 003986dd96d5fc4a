import type { RequestHandler } from 'express';
import { AppError, badInput } from '../common/errors';
import { sendError } from './auth.middleware';

/**
 * graphql-js parses, validates and coerces recursively: a document or a variables object
 * nested a few thousand levels deep (well inside the body and token limits) overflows the
 * stack. These checks run before any of that, without recursion, so such a request is refused
 * as bad input instead of failing somewhere inside the library.
 */

const OPENERS = new Set(['{', '[', '(']);
const CLOSERS = new Set(['}', ']', ')']);

/**
 * Deepest nesting of `{`, `[` and `(` in a GraphQL document, skipping strings, block strings
 * and comments. Unbalanced input is left to the parser, which reports it with a location.
 */
export function documentNesting(source: string): number {
  let depth = 0;
  let deepest = 0;
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    if (c === '#') {
      while (i < source.length && source[i] !== '\n' && source[i] !== '\r') i++;
      continue;
    }
    if (c === '"') {
      i = source.startsWith('"""', i) ? skipBlockString(source, i) : skipString(source, i);
      continue;
    }
    if (OPENERS.has(c)) deepest = Math.max(deepest, ++depth);
    else if (CLOSERS.has(c)) depth--;
    i++;
  }
  return deepest;
}

/** Index after a "..." string starting at `start` (or the end of its line when unterminated). */
function skipString(source: string, start: number): number {
  let i = start + 1;
  while (i < source.length) {
    const c = source[i];
    if (c === '\\') i += 2;
    else if (c === '"') return i + 1;
    else if (c === '\n' || c === '\r') return i;
    else i++;
  }
  return i;
}

/** Index after a """...""" block string starting at `start`; \""" does not end it. */
function skipBlockString(source: string, start: number): number {
  let i = start + 3;
  while (i < source.length) {
    if (source.startsWith('\\"""', i)) i += 4;
    else if (source.startsWith('"""', i)) return i + 3;
    else i++;
  }
  return i;
}

/** Deepest nesting of objects and arrays in a parsed JSON value, walked without recursion. */
export function valueNesting(value: unknown, stopAt = Infinity): number {
  let deepest = 0;
  const stack: { v: unknown; depth: number }[] = [{ v: value, depth: 0 }];
  while (stack.length) {
    const { v, depth } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    deepest = Math.max(deepest, depth + 1);
    // Past the limit the answer is known: no need to walk the rest of a huge value.
    if (deepest > stopAt) return deepest;
    for (const item of Array.isArray(v) ? v : Object.values(v)) {
      stack.push({ v: item, depth: depth + 1 });
    }
  }
  return deepest;
}

const tooDeep = (what: 'query' | 'variables', max: number) =>
  badInput(
    `The ${what} ${what === 'query' ? 'nests brackets' : 'nest objects or lists'} deeper than the limit of ${max} levels (GRAPHQL_MAX_NESTING)`,
    { field: what, maxNesting: max },
  );

/**
 * Refuses a query text or variables nested deeper than `max` levels (GRAPHQL_MAX_NESTING),
 * with BAD_USER_INPUT naming which of the two it was.
 */
export function assertRequestNesting(
  request: { query?: string | null; variables?: unknown },
  max: number,
): void {
  if (request.query && documentNesting(request.query) > max) throw tooDeep('query', max);
  if (request.variables != null && valueNesting(request.variables, max) > max) {
    throw tooDeep('variables', max);
  }
}

/**
 * Express middleware in front of Apollo on /graphql (after the JSON body parser): refuses a
 * request whose query or variables nest deeper than `max` with 400 BAD_USER_INPUT, before
 * Apollo parses anything. GET requests carry both as query-string text; JSON text nests like a
 * document, so the same bracket count applies to their variables.
 */
export function nestingGuard(max: number): RequestHandler {
  return (req, res, next) => {
    try {
      if (req.method === 'GET') {
        const { query, variables } = req.query;
        if (typeof query === 'string') assertRequestNesting({ query }, max);
        if (typeof variables === 'string' && documentNesting(variables) > max) {
          throw tooDeep('variables', max);
        }
      } else {
        const body: unknown = req.body;
        // A batch (an array of operations) is refused by Apollo; each entry is still checked.
        for (const op of Array.isArray(body) ? body : [body]) {
          if (typeof op !== 'object' || op === null) continue;
          const { query, variables } = op as { query?: unknown; variables?: unknown };
          assertRequestNesting(
            { query: typeof query === 'string' ? query : undefined, variables },
            max,
          );
        }
      }
    } catch (err) {
      if (err instanceof AppError) {
        sendError(res, err, 'graphql');
        return;
      }
      throw err;
    }
    next();
  };
}
