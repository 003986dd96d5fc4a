import fs from 'node:fs';

/**
 * Writes `file` until its filesystem refuses with ENOSPC: big writes first, then smaller ones,
 * so the last block is used too. The full-disk test and the reliability suite's check share it.
 */
export function fillBlocks(file: string): void {
  const fd = fs.openSync(file, 'w');
  try {
    for (const chunk of [1 << 20, 4096, 1]) {
      const buf = Buffer.alloc(chunk, 1);
      for (;;) {
        try {
          if (fs.writeSync(fd, buf) < chunk) break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}
