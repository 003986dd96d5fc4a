/**
 * What a refused request may not look like: a 5xx, an INTERNAL code, or a message that carries
 * a stack trace or the database's own words (SQL, constraint names, PostgreSQL's errors).
 */

/** Text that only a leaked stack trace or a database error would put in a message. */
const LEAKS: [string, RegExp][] = [
  ['stack trace', /\n\s+at \S+|\bat (?:\S+ \()?(?:\/|node:)\S+:\d+:\d+/],
  ['stack trace', /node_modules\/|\.(?:ts|js):\d+:\d+/],
  ['SQL', /\b(?:SELECT\s+\S+.*\s+FROM|INSERT INTO|UPDATE\s+"?\w+"?\s+SET|DELETE FROM)\b/i],
  ['SQL', /violates (?:unique|foreign key|check|not-null) constraint|duplicate key value/i],
  [
    'SQL',
    /\bKey \([^)]+\)=\(|relation "[^"]+"|syntax error at or near|invalid input syntax for type/i,
  ],
  [
    'SQL',
    /\bQueryFailedError\b|\bunsupported Unicode escape sequence\b|invalid byte sequence for encoding/i,
  ],
];

export interface Problem {
  what: string;
  status: number;
  detail: string;
}

/** Every broken promise in one answer (status and body text); empty when it is a clean answer. */
export function inspectAnswer(what: string, status: number, body: string): Problem[] {
  const problems: Problem[] = [];
  const cut = (s: string) => s.slice(0, 300);
  if (status >= 500) problems.push({ what, status, detail: `HTTP ${status}: ${cut(body)}` });
  let messages: string[] = [];
  try {
    const parsed = JSON.parse(body) as {
      errors?: { message?: string; extensions?: { code?: string } }[];
      error?: { message?: string; code?: string } | string;
      message?: string;
      code?: string;
    };
    for (const e of parsed.errors ?? []) {
      const code = e.extensions?.code;
      if (code === 'INTERNAL' || code === 'INTERNAL_SERVER_ERROR') {
        problems.push({ what, status, detail: `${code}: ${cut(e.message ?? '')}` });
      }
      messages.push(e.message ?? '');
    }
    if (typeof parsed.error === 'object' && parsed.error) {
      if (parsed.error.code === 'INTERNAL')
        problems.push({ what, status, detail: `INTERNAL: ${cut(parsed.error.message ?? '')}` });
      messages.push(parsed.error.message ?? '');
    } else if (typeof parsed.error === 'string') messages.push(parsed.error);
    if (parsed.code === 'INTERNAL')
      problems.push({ what, status, detail: `INTERNAL: ${cut(parsed.message ?? '')}` });
    if (parsed.message) messages.push(parsed.message);
  } catch {
    // Not one JSON document (an NDJSON export, an HTML page): look at the whole text when refused.
    messages = status >= 400 ? [body] : [];
  }
  for (const message of messages) {
    for (const [kind, pattern] of LEAKS) {
      if (pattern.test(message)) {
        problems.push({ what, status, detail: `${kind} in message: ${cut(message)}` });
        break;
      }
    }
  }
  // One answer is one broken promise, however many ways it shows it.
  return problems.slice(0, 1);
}
