import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { boundedLines } from '../src/modules/bulk/bounded-lines';
import { AppError } from '../src/common/errors';

async function collect(chunks: Buffer[], max: number): Promise<[number, string][]> {
  const out: [number, string][] = [];
  for await (const { line, text } of boundedLines(Readable.from(chunks), max)) {
    out.push([line, text]);
  }
  return out;
}

async function refusal(chunks: Buffer[], max: number): Promise<AppError> {
  try {
    await collect(chunks, max);
  } catch (err) {
    assert.ok(err instanceof AppError, String(err));
    return err;
  }
  assert.fail('the stream was accepted');
}

describe('boundedLines: the NDJSON line splitter', () => {
  it('numbers lines from 1, drops the CR of CRLF, keeps blank lines and an unterminated last line', async () => {
    const got = await collect([Buffer.from('a\r\n\nb\nlast')], 100);
    assert.deepEqual(got, [
      [1, 'a'],
      [2, ''],
      [3, 'b'],
      [4, 'last'],
    ]);
  });

  it('joins a line, and a multi-byte character, split across chunks', async () => {
    const text = 'é€😀 über';
    const bytes = Buffer.from(`${text}\nx\n`);
    // One byte per chunk: every character is cut somewhere.
    const chunks = [...bytes].map((b) => Buffer.from([b]));
    assert.deepEqual(await collect(chunks, 100), [
      [1, text],
      [2, 'x'],
    ]);
  });

  it('accepts a line of exactly the limit and refuses one byte more with 413 naming it', async () => {
    assert.deepEqual(await collect([Buffer.from('ok\n' + 'x'.repeat(10) + '\n')], 10), [
      [1, 'ok'],
      [2, 'x'.repeat(10)],
    ]);
    const err = await refusal([Buffer.from('ok\n' + 'x'.repeat(11) + '\n')], 10);
    assert.equal(err.details.line, 2);
    assert.equal(err.details.httpStatus, 413);
    assert.match(err.message, /^line 2: longer than the limit of 10 bytes/);
  });

  it('refuses an endless line without newline once it passes the limit, without reading on', async () => {
    let produced = 0;
    // 1 GiB of one character, generated lazily: the splitter must stop long before its end.
    const endless = Readable.from(
      (function* () {
        const block = Buffer.alloc(64 * 1024, 'a');
        for (let i = 0; i < 16 * 1024; i += 1) {
          produced += block.length;
          yield block;
        }
      })(),
    );
    await assert.rejects(
      (async () => {
        for await (const _ of boundedLines(endless, 1024 * 1024)) assert.fail('no line expected');
      })(),
      (err: unknown) => err instanceof AppError && err.details.line === 1,
    );
    assert.ok(produced < 4 * 1024 * 1024, `read ${produced} bytes`);
  });

  it('refuses invalid UTF-8 (a stray byte, a truncated sequence, an encoded surrogate) naming the line', async () => {
    for (const bad of [[0xff], [0xe2, 0x82], [0xed, 0xa0, 0x80]]) {
      const err = await refusal([Buffer.from('fine\n'), Buffer.from([0x61, ...bad, 0x0a])], 100);
      assert.equal(err.code, 'BAD_USER_INPUT');
      assert.equal(err.message, 'line 2: not valid UTF-8');
    }
  });

  it('passes an error of the source through to its consumer', async () => {
    const broken = new Readable({
      read() {
        this.push(Buffer.from('a\n'));
        this.destroy(new Error('socket reset'));
      },
    });
    await assert.rejects(
      (async () => {
        for await (const _ of boundedLines(broken, 100));
      })(),
      /socket reset/,
    );
  });
});
