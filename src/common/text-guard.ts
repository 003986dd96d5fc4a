import { badInput } from './errors';

/**
 * Checks on user text that PostgreSQL would otherwise refuse deep inside a statement (NUL in
 * text and jsonb) or store silently mangled (a lone UTF-16 surrogate becomes U+FFFD), and on
 * JSON nesting that would overflow a recursive walk or PostgreSQL's jsonb depth limit. Every
 * edge (GraphQL arguments, NDJSON lines, runner bodies, query strings) calls these, so the same
 * input gets the same BAD_USER_INPUT wherever it arrives.
 */

/** Default bound on JSON nesting (objects and arrays); the JSON_MAX_DEPTH setting overrides it. */
export const DEFAULT_JSON_MAX_DEPTH = 64;

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why `text` cannot be stored, or undefined when it can. */
export function unsafeTextReason(text: string): string | undefined {
  if (text.includes('\u0000')) return 'contains a NUL character (\\u0000)';
  if (LONE_SURROGATE.test(text)) return 'contains a lone UTF-16 surrogate (not valid Unicode)';
  return undefined;
}

/** Throws BAD_USER_INPUT naming `field` when `text` cannot be stored. */
export function assertSafeText(text: string, field: string, details: Record<string, unknown> = {}) {
  const reason = unsafeTextReason(text);
  if (reason) throw badInput(`${field}: ${reason}`, { field, ...details });
}

/**
 * Walks a parsed JSON value (or GraphQL variables) once, iteratively so that no input can
 * overflow the stack: every string and object key must be storable and nesting must stay within
 * `maxDepth`. `path` names the value in the error (`metadata`, `line 3: metadata.a.b`...).
 */
export function assertSafeValue(
  value: unknown,
  path: string,
  maxDepth = DEFAULT_JSON_MAX_DEPTH,
  details: Record<string, unknown> = {},
): void {
  const stack: { v: unknown; path: string; depth: number }[] = [{ v: value, path, depth: 0 }];
  while (stack.length) {
    const { v, path: at, depth } = stack.pop()!;
    if (typeof v === 'string') {
      assertSafeText(v, at, details);
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (depth >= maxDepth) {
      throw badInput(`${at}: nested deeper than the limit of ${maxDepth} levels`, {
        field: at,
        maxDepth,
        ...details,
      });
    }
    if (Array.isArray(v)) {
      v.forEach((item, i) => stack.push({ v: item, path: `${at}.${i}`, depth: depth + 1 }));
      continue;
    }
    for (const [key, item] of Object.entries(v)) {
      assertSafeText(key, `${at} (a key)`, details);
      stack.push({ v: item, path: `${at}.${key}`, depth: depth + 1 });
    }
  }
}
