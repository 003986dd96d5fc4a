/**
 * Follows a growing log file from where it was last read and hands out its complete lines (a
 * last line without a newline only on the final read). Reads are serialized: a poll and a final
 * read never hand out the same line twice.
 */
import fs from 'node:fs';

export class FileTail {
  private rest = Buffer.alloc(0);
  private chain: Promise<void> = Promise.resolve();

  /** `offset`: where to start, e.g. the file's size before a relaunch appended to it. */
  constructor(
    private readonly file: string,
    private offset = 0,
  ) {}

  read(onLine: (line: string) => void, final = false): Promise<void> {
    const next = this.chain.then(() => this.readNow(onLine, final));
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async readNow(onLine: (line: string) => void, final: boolean): Promise<void> {
    let fh: fs.promises.FileHandle;
    try {
      fh = await fs.promises.open(this.file, 'r');
    } catch {
      return; // not written yet
    }
    try {
      const { size } = await fh.stat();
      if (size < this.offset) this.offset = 0; // truncated: start over
      while (this.offset < size) {
        const buf = Buffer.alloc(Math.min(size - this.offset, 1 << 20));
        const { bytesRead } = await fh.read(buf, 0, buf.length, this.offset);
        if (bytesRead === 0) break;
        this.offset += bytesRead;
        let data = Buffer.concat([this.rest, buf.subarray(0, bytesRead)]);
        let nl: number;
        while ((nl = data.indexOf(0x0a)) >= 0) {
          onLine(data.subarray(0, nl).toString('utf8').replace(/\r$/, ''));
          data = data.subarray(nl + 1);
        }
        this.rest = Buffer.from(data);
      }
    } finally {
      await fh.close();
    }
    if (final && this.rest.length) {
      onLine(this.rest.toString('utf8'));
      this.rest = Buffer.alloc(0);
    }
  }
}
