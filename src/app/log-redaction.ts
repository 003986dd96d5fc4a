import pino, { type Logger, type DestinationStream } from 'pino';

/**
 * What the logs must never hold in clear: API keys and runner tokens (the Authorization header,
 * a `token`/`key` query parameter some clients put in URLs, a runner's environment), and webhook
 * signing secrets. Log files are read by more people than keys are meant for, so the request log
 * keeps only the shape of these values (the auth scheme, the parameter name).
 */
export const REDACTED = '[redacted]';

/** Query parameters that carry a credential in a URL, whatever the case. */
const SECRET_NAMES = 'token|key|api[-_]?key|access[-_]?token|secret';
const SECRET_PARAM = new RegExp(`([?&](?:${SECRET_NAMES})=)[^&#]*`, 'gi');
const SECRET_NAME = new RegExp(`^(?:${SECRET_NAMES})$`, 'i');

/** Request headers whose whole value is a credential. */
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-api-key']);

/**
 * Log fields to blank wherever they appear (pino's redact paths): webhook secrets, a runner's
 * token in the environment a launcher passes, and any error or object that carries a key.
 */
export const REDACT_PATHS = [
  'secret',
  '*.secret',
  'key',
  '*.key',
  'token',
  '*.token',
  'env.STAGEWISE_RUN_TOKEN',
  '*.env.STAGEWISE_RUN_TOKEN',
];

/** `url` with the value of every credential-carrying query parameter blanked. */
export function redactUrl(url: string): string {
  return url.replace(SECRET_PARAM, `$1${REDACTED}`);
}

/** A copy of `headers` with credentials blanked; an auth header keeps its scheme ("Bearer"). */
export function redactHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!SECRET_HEADERS.has(name.toLowerCase())) {
      out[name] = value;
      continue;
    }
    const scheme = typeof value === 'string' ? /^(\w+)\s+\S/.exec(value)?.[1] : undefined;
    out[name] =
      scheme && name.toLowerCase().endsWith('authorization') ? `${scheme} ${REDACTED}` : REDACTED;
  }
  return out;
}

function redactQuery(query: unknown): unknown {
  if (!query || typeof query !== 'object') return query;
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(query)) {
    out[name] = SECRET_NAME.test(name) ? REDACTED : value;
  }
  return out;
}

/** The request log's serializer (pino-http wraps it around pino's own): no credential in clear. */
export function redactRequest(req: Record<string, unknown>): Record<string, unknown> {
  return {
    ...req,
    ...(typeof req.url === 'string' ? { url: redactUrl(req.url) } : {}),
    ...(req.query !== undefined ? { query: redactQuery(req.query) } : {}),
    ...(req.headers && typeof req.headers === 'object'
      ? { headers: redactHeaders(req.headers as Record<string, unknown>) }
      : {}),
  };
}

/** The API process's logger: pino with the redaction above applied to every line. */
export function createApiLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'stagewise-api' },
    redact: { paths: REDACT_PATHS, censor: REDACTED },
  };
  return destination ? pino(options, destination) : pino(options);
}
