import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const REPO = path.join(__dirname, '..', '..');
const CLI = path.join(__dirname, '..', 'src', 'cli', 'stagewise.js');
const ESC = '\u001b[';

/** Runs `command` in bash with stdout piped to us, or (tty) on a pseudo-terminal by `script`. */
function bash(command: string, opts: { tty?: boolean; env?: NodeJS.ProcessEnv } = {}) {
  const env = { ...process.env, NO_COLOR: '', ...opts.env };
  const res = opts.tty
    ? spawnSync('script', ['-qec', `bash -c ${JSON.stringify(command)}`, '/dev/null'], {
        cwd: REPO,
        env,
        encoding: 'utf8',
      })
    : spawnSync('bash', ['-c', command], { cwd: REPO, env, encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
  return res.stdout;
}

describe('terminal output: escape codes only on a terminal, never with NO_COLOR', () => {
  const heading = 'source scripts/terminal.sh; say Building';

  it("the npm scripts' headings (npm run demo, curriculum) are plain when piped", () => {
    const out = bash(heading);
    assert.equal(out, '\n== Building\n');
  });

  it('they are bold on a terminal', () => {
    assert.ok(bash(heading, { tty: true }).includes(`${ESC}1m== Building`));
  });

  it('and plain on a terminal when NO_COLOR is set', () => {
    const out = bash(heading, { tty: true, env: { NO_COLOR: '1' } });
    assert.ok(!out.includes(ESC), JSON.stringify(out));
    assert.match(out, /== Building/);
  });

  it('the CLI writes no escape codes into a pipe (help, and a connection error)', () => {
    const help = spawnSync(process.execPath, [CLI, 'runs', '--help'], { encoding: 'utf8' });
    const down = spawnSync(process.execPath, [CLI, 'runs', 'list'], {
      encoding: 'utf8',
      env: { ...process.env, STAGEWISE_URL: 'http://127.0.0.1:9', STAGEWISE_API_KEY: 'sw_x' },
    });
    assert.equal(down.status, 3);
    for (const text of [help.stdout, help.stderr, down.stdout, down.stderr]) {
      assert.ok(!text.includes(ESC), JSON.stringify(text));
    }
    assert.match(help.stdout + help.stderr, /--watch WATCH_OPTIONS/);
  });
});
