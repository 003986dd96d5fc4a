/**
 * The README's first session with `curl`, run as written against a live server: the shell block
 * after "The same with `curl`" is read from README.md, the key and the server's address filled
 * in, and what the commands print must be the answers the README shows below each of them.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from './helpers/test-server';
import { repoRoot } from './helpers/processes';
import { runCommand } from './helpers/python';

/** The sh block that follows `marker` in README.md. */
function readmeBlockAfter(marker: string): string {
  const readme = fs.readFileSync(path.join(repoRoot(), 'README.md'), 'utf8');
  const at = readme.indexOf(marker);
  assert.ok(at >= 0, `README.md says "${marker}"`);
  const block = readme.slice(at).match(/```sh\n([\s\S]*?)```/);
  assert.ok(block, `a sh block after "${marker}"`);
  return block[1];
}

describe("the README's first session", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t?.close());

  it('the curl lines print the answers the README shows, against a real server', async () => {
    const block = readmeBlockAfter('The same with `curl`');
    assert.match(block, /^KEY=sw_\.\.\. /m);
    const script = block
      .replace(/^KEY=sw_\.\.\./m, `KEY=${t.keys.write}`)
      .replaceAll('http://127.0.0.1:4000', t.url);
    // The answers the README shows, as comment lines starting with "# {".
    const shown = block
      .split('\n')
      .filter((line) => line.startsWith('# {'))
      .map((line) => line.slice(2));
    assert.equal(shown.length, 2, 'an answer under the import and under the query');

    const result = await runCommand('/bin/bash', ['-euo', 'pipefail', '-c', script], {}, 60_000);
    assert.equal(result.code, 0, result.output);
    // One answer per line, each the one the README shows.
    assert.deepEqual(result.output.trim().split('\n'), shown);
  });
});
