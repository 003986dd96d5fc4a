import express, { type RequestHandler, type Request } from 'express';
import { AppError, badInput } from './errors';

/**
 * Text bodies are UTF-8 and nothing else: a body in another charset would be decoded wrongly and
 * stored as mojibake, and invalid bytes would be stored as U+FFFD. Both are refused at the edge.
 */

/** The charset parameter of the Content-Type, lower-cased; undefined when there is none. */
function declaredCharset(req: Request): string | undefined {
  const type = req.headers['content-type'];
  if (!type) return undefined;
  const match = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(type);
  return match?.[1].toLowerCase();
}

/** Throws 415 (before any byte of the body is read) when the body claims a charset but UTF-8. */
export function assertUtf8Charset(req: Request): void {
  const charset = declaredCharset(req);
  if (charset === undefined || charset === 'utf-8' || charset === 'utf8') return;
  throw new AppError('BAD_USER_INPUT', `The charset "${charset}" is not supported; send UTF-8`, {
    charset,
    httpStatus: 415,
  });
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * express.json with the house rules: only UTF-8 (415 otherwise, from the charset check or
 * body-parser's own), and bytes that are not valid UTF-8 refused instead of replaced.
 */
export function jsonBody(limit: string | number): RequestHandler {
  const parse = express.json({
    limit,
    verify: (_req, _res, buf) => {
      try {
        fatalUtf8.decode(buf);
      } catch {
        throw badInput('The request body is not valid UTF-8');
      }
    },
  });
  return (req, res, next) => {
    try {
      assertUtf8Charset(req);
    } catch (err) {
      next(err);
      return;
    }
    parse(req, res, next);
  };
}
