import readline from 'node:readline';
import { Transform, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Request } from 'express';
import { AppError, badInput } from '../../common/errors';

/** The request body as it arrives, gunzipped when sent with Content-Encoding: gzip. */
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
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding === 'gzip') {
    const gunzip = createGunzip();
    req.pipe(gunzip).pipe(limiter);
    gunzip.on('error', () => limiter.destroy(badInput('The body is not valid gzip')));
  } else if (encoding === 'identity') {
    req.pipe(limiter);
  } else {
    throw badInput(`Content-Encoding ${encoding} is not supported; send identity or gzip`);
  }
  req.on('error', (err) => limiter.destroy(err));
  return limiter;
}

/**
 * The parsed lines of an NDJSON body, numbered from 1; blank lines are skipped. A line that
 * `parse` rejects ends the iteration with its error.
 */
export async function* ndjsonRecords<T>(
  req: Request,
  limitBytes: number,
  parse: (text: string, line: number) => T,
): AsyncGenerator<T> {
  const lines = readline.createInterface({
    input: bodyStream(req, limitBytes),
    crlfDelay: Infinity,
  });
  let line = 0;
  let records = 0;
  for await (const text of lines) {
    line += 1;
    if (text.trim() === '') continue;
    records += 1;
    yield parse(text, line);
  }
  if (records === 0) throw badInput('The body holds no NDJSON lines');
}
