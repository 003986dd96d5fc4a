import { AppError, badInput } from '../../common/errors';

/** One line of a byte stream, numbered from 1, decoded as UTF-8. */
export interface NumberedLine {
  line: number;
  text: string;
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/**
 * Splits a byte stream into UTF-8 lines without ever holding more than `maxLineBytes` of one
 * line. Node's readline builds each line as one string, so a line with no newline that inflates
 * to hundreds of MiB (a tiny gzip bomb) grows past V8's largest string and throws where no one
 * can catch it; here such a line is refused, with its number, once it passes the bound.
 *
 * Each line is decoded with a fatal decoder: invalid UTF-8 is refused, never replaced with
 * U+FFFD. A trailing `\r` (CRLF files) is dropped.
 */
export async function* boundedLines(
  chunks: AsyncIterable<Buffer>,
  maxLineBytes: number,
): AsyncGenerator<NumberedLine> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  let pieces: Buffer[] = [];
  let pending = 0;
  let line = 1;

  const tooLong = () =>
    new AppError(
      'BAD_USER_INPUT',
      `line ${line}: longer than the limit of ${maxLineBytes} bytes (NDJSON_MAX_LINE_BYTES)`,
      { line, maxLineBytes, httpStatus: 413 },
    );
  const finish = (tail: Buffer): NumberedLine => {
    let bytes = pieces.length ? Buffer.concat([...pieces, tail]) : tail;
    pieces = [];
    pending = 0;
    if (bytes.length && bytes[bytes.length - 1] === CARRIAGE_RETURN) bytes = bytes.subarray(0, -1);
    if (bytes.length > maxLineBytes) throw tooLong();
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      throw badInput(`line ${line}: not valid UTF-8`, { line });
    }
    return { line: line++, text };
  };

  for await (const chunk of chunks) {
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE, start); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      // The bound counts the line's own bytes; the `\r` of a CRLF may sit on top of it.
      if (pending + (nl - start) > maxLineBytes + 1) throw tooLong();
      yield finish(chunk.subarray(start, nl));
      start = nl + 1;
    }
    if (start < chunk.length) {
      pending += chunk.length - start;
      if (pending > maxLineBytes + 1) throw tooLong();
      // Copy: the source may reuse its buffer once we return control.
      pieces.push(Buffer.from(chunk.subarray(start)));
    }
  }
  if (pending > 0) yield finish(Buffer.alloc(0));
}
