import { Transform, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Request } from 'express';
import { AppError, badInput } from '../../common/errors';
import { assertUtf8Charset } from '../../common/body-charset';
import { boundedLines } from './bounded-lines';

/** The bounds an NDJSON body is read under (settings of the same names in config.ts). */
export interface NdjsonLimits {
  /** NDJSON_BODY_LIMIT_BYTES: the whole body, counted after gunzip. */
  bodyBytes: number;
  /** NDJSON_MAX_LINE_BYTES: one line, counted after gunzip. */
  lineBytes: number;
}

/** The body's Content-Encoding; throws BAD_USER_INPUT for one we cannot read. */
function contentEncoding(req: Request): 'gzip' | 'identity' {
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding === 'gzip' || encoding === 'identity') return encoding;
  throw badInput(`Content-Encoding ${encoding} is not supported; send identity or gzip`);
}

/**
 * The request body as it arrives, gunzipped when sent with Content-Encoding: gzip, cut at
 * `limitBytes`. Every failure (a broken gzip, a client gone mid-upload, the limit) ends up as
 * an error of the returned stream, which its one consumer sees; nothing is left to throw
 * uncaught. The request is never destroyed here, so an error answer can still be sent; once the
 * returned stream closes the request is unpiped and left unread (the error handler then answers
 * with Connection: close).
 */
function bodyStream(req: Request, limitBytes: number): Readable {
  let seen = 0;
  const limiter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > limitBytes) {
        done(
          new AppError(
            'BAD_USER_INPUT',
            `The body is larger than the limit of ${limitBytes} bytes`,
            {
              limitBytes,
              httpStatus: 413,
            },
          ),
        );
        return;
      }
      done(null, chunk);
    },
  });
  // The consumer may attach only later (or never, if the import fails first): an error with no
  // listener yet would be thrown as uncaught. The consumer still gets it from the stream's state.
  limiter.on('error', () => {});
  let head: NodeJS.WritableStream & { destroy(): void } = limiter;
  if (contentEncoding(req) === 'gzip') {
    const gunzip = createGunzip();
    gunzip.on('error', () => limiter.destroy(badInput('The body is not valid gzip')));
    gunzip.pipe(limiter);
    head = gunzip;
  }
  // Stays attached for the life of the request: a late reset must not be an unhandled 'error'.
  req.on('error', (err) => limiter.destroy(err));
  req.on('aborted', () => limiter.destroy(badInput('The client closed the upload before its end')));
  limiter.on('close', () => {
    req.unpipe(head);
    if (head !== limiter) head.destroy();
  });
  req.pipe(head);
  return limiter;
}

/**
 * The parsed lines of an NDJSON body, numbered from 1; blank lines are skipped. Headers are
 * checked at once (an unsupported charset or encoding throws before any byte is read); a line
 * that is too long, not UTF-8, or that `parse` rejects ends the iteration with its error.
 */
export function ndjsonRecords<T>(
  req: Request,
  limits: NdjsonLimits,
  parse: (text: string, line: number) => T,
): AsyncGenerator<T> {
  assertUtf8Charset(req);
  contentEncoding(req);
  return records(req, limits, parse);
}

async function* records<T>(
  req: Request,
  limits: NdjsonLimits,
  parse: (text: string, line: number) => T,
): AsyncGenerator<T> {
  // The body is read only once the import consumes it: nothing flows into a buffer meanwhile.
  const body = bodyStream(req, limits.bodyBytes);
  const maxLineBytes = limits.lineBytes;
  let count = 0;
  try {
    for await (const { line, text } of boundedLines(body, maxLineBytes)) {
      if (text.trim() === '') continue;
      count += 1;
      yield parse(text, line);
    }
  } finally {
    // Stops reading when the consumer gives up early (a bad line, a failed COPY).
    body.destroy();
  }
  if (count === 0) throw badInput('The body holds no NDJSON lines');
}
