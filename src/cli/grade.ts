/**
 * `npm run grade -- FILE [--out FILE]`: grades JSONL lines `{"gold", "output"}` with the shared
 * grader and writes each object back, in order, with `"extracted"` and `"correct"` added
 * (src/grading/SPEC.md §5). Streams, so a file of any size runs in constant memory; the Python
 * twin is `python3 -m gpu_runner.grading`.
 */
import fs from 'node:fs';
import readline from 'node:readline';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import type { Writable } from 'node:stream';
import { GRADER_VERSION, grade } from '../grading';

const USAGE = `Usage: npm run grade -- FILE [--out FILE]    (FILE may be - for stdin)
Grades JSONL lines {"gold": ..., "output": ...} with ${GRADER_VERSION}; each line is written back
with "extracted" and "correct" added. A malformed line stops the run with exit code 2.`;

const EXIT_IO = 1;
const EXIT_BAD_INPUT = 2;

/** A line that is not a gradable object; the run stops at it. */
class BadLine extends Error {}

function gradeLine(line: string): string {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch (err) {
    throw new BadLine(`not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new BadLine('not a JSON object');
  }
  const record = obj as Record<string, unknown>;
  const gold = typeof record.gold === 'number' ? String(record.gold) : record.gold;
  if (typeof gold !== 'string') throw new BadLine('"gold" must be a string or a number');
  if (typeof record.output !== 'string') throw new BadLine('"output" must be a string');
  const { extracted, correct } = grade(record.output, gold);
  return JSON.stringify({ ...record, extracted, correct });
}

async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { out: { type: 'string' } },
    });
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return EXIT_BAD_INPUT;
  }
  const { positionals, values } = parsed;
  if (positionals.length !== 1) {
    console.error(USAGE);
    return EXIT_BAD_INPUT;
  }
  const file = positionals[0];
  const input = file === '-' ? process.stdin : fs.createReadStream(file, { encoding: 'utf8' });
  const out = values.out ? fs.createWriteStream(values.out) : process.stdout;
  const failed = new Promise<never>((_, reject) => {
    input.once('error', reject);
    out.once('error', reject);
  });
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  let status = 0;
  const work = (async () => {
    let n = 0;
    for await (const line of lines) {
      n++;
      if (!line.replace(/[ \t\n\r\f\v]/g, '')) continue;
      try {
        await write(out, gradeLine(line) + '\n');
      } catch (err) {
        if (!(err instanceof BadLine)) throw err;
        console.error(`grade: line ${n}: ${err.message}`);
        status = EXIT_BAD_INPUT;
        break;
      }
    }
  })();
  try {
    await Promise.race([work, failed]);
  } catch (err) {
    console.error(`grade: ${err instanceof Error ? err.message : String(err)}`);
    status = EXIT_IO;
  } finally {
    lines.close();
    if (out !== process.stdout) {
      const closed = once(out, 'close');
      out.end();
      await closed;
    }
  }
  return status;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = EXIT_IO;
  },
);
