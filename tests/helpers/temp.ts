/**
 * Temporary folders that are removed when the test process ends, whatever the test did: a
 * folder handed to a server (its RUNS_DIR) or a CLI often outlives the test that made it, and
 * `npm test` must leave nothing under the temp dir (scripts/machine-check.ts checks).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const made = new Set<string>();
let hooked = false;

function removeAll() {
  for (const dir of made) removeTempDir(dir);
}

/** A new folder under the temp dir, `<prefix>XXXXXX`, removed at the latest when the process exits. */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.add(dir);
  if (!hooked) {
    hooked = true;
    // Synchronous work only in 'exit': the test runner's forced exit still runs it.
    process.on('exit', removeAll);
  }
  return dir;
}

/** Removes a folder now (and forgets it). */
export function removeTempDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  made.delete(dir);
}
