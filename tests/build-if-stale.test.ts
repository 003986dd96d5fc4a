import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const REPO = path.join(__dirname, '..', '..');

/**
 * scripts/build-if-stale.sh and bin/stagewise, copied into a small checkout of their own (one
 * TypeScript file, the repository's node_modules linked in), so that building is cheap and the
 * repository's dist/ is not touched while other tests run from it. "Built" is read from the
 * stamp's mtime and the compiled file's, never from how long a call took.
 */
describe('build-if-stale: commands build only when a source changed', () => {
  let root: string;
  const stamp = () => path.join(root, 'dist', '.build-stamp');
  const compiled = () => path.join(root, 'dist', 'src', 'cli', 'stagewise.js');
  const mtime = (file: string) => fs.statSync(file).mtimeMs;

  const run = (command: string, args: string[], cwd = root) => {
    const res = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 120_000 });
    return { code: res.status, stdout: res.stdout, stderr: res.stderr };
  };
  const buildIfStale = () => run('bash', [path.join(root, 'scripts', 'build-if-stale.sh')]);
  // Makes a file newer than the stamp, as an editor's save after the build would: the stamp is
  // moved 10 s into the past and the file 5 s, both before the next build's own stamp (taken
  // when that build starts), so the rebuild's stamp is newer than the edit however fast it runs.
  const touchAfterStamp = (file: string) => {
    const now = Date.now();
    const stampTime = new Date(now - 10_000);
    const editTime = new Date(now - 5_000);
    fs.utimesSync(stamp(), stampTime, stampTime);
    fs.utimesSync(file, editTime, editTime);
  };

  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'stagewise-build-'));
    for (const dir of ['scripts', 'bin', 'src/cli', 'tests']) {
      fs.mkdirSync(path.join(root, dir), { recursive: true });
    }
    fs.copyFileSync(
      path.join(REPO, 'scripts', 'build-if-stale.sh'),
      path.join(root, 'scripts', 'build-if-stale.sh'),
    );
    fs.copyFileSync(path.join(REPO, 'bin', 'stagewise'), path.join(root, 'bin', 'stagewise'));
    fs.chmodSync(path.join(root, 'bin', 'stagewise'), 0o755);
    fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(root, 'node_modules'));
    fs.writeFileSync(path.join(root, 'package.json'), '{"name": "mini", "private": true}\n');
    fs.writeFileSync(
      path.join(root, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          outDir: 'dist',
          rootDir: '.',
          module: 'commonjs',
          target: 'ES2022',
          types: [],
        },
        include: ['src'],
      }),
    );
    // The "CLI": prints its arguments and the folder it runs in.
    fs.writeFileSync(
      path.join(root, 'src', 'cli', 'stagewise.ts'),
      'declare const process: { argv: string[]; cwd(): string; stdout: { write(s: string): void } };\n' +
        'process.stdout.write(JSON.stringify({ args: process.argv.slice(2), cwd: process.cwd() }));\n',
    );
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('builds on the first call and writes the stamp', () => {
    const res = buildIfStale();
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /# building/);
    assert.ok(fs.existsSync(compiled()));
    assert.ok(fs.existsSync(stamp()));
  });

  it('does not build again when nothing changed: stamp and output untouched, nothing printed', () => {
    const [stampBefore, outBefore] = [mtime(stamp()), mtime(compiled())];
    const res = buildIfStale();
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stderr, '');
    assert.equal(mtime(stamp()), stampBefore);
    assert.equal(mtime(compiled()), outBefore);
  });

  it('builds again after a source file is edited', () => {
    const source = path.join(root, 'src', 'cli', 'stagewise.ts');
    touchAfterStamp(source);
    const stampBefore = mtime(stamp());
    const res = buildIfStale();
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /# building/);
    assert.notEqual(mtime(stamp()), stampBefore);
    assert.equal(buildIfStale().stderr, '', 'and then not again');
  });

  it('builds again after a file is deleted (its folder changes) or tsconfig.json is edited', () => {
    const extra = path.join(root, 'tests', 'gone.ts');
    fs.writeFileSync(extra, 'export {};\n');
    assert.match(buildIfStale().stderr, /# building/);
    fs.rmSync(extra);
    touchAfterStamp(path.join(root, 'tests'));
    assert.match(buildIfStale().stderr, /# building/);
    touchAfterStamp(path.join(root, 'tsconfig.json'));
    assert.match(buildIfStale().stderr, /# building/);
  });

  it('a failed build leaves the sources stale, so the next call builds again', () => {
    const broken = path.join(root, 'src', 'broken.ts');
    fs.writeFileSync(broken, 'const x: number = "not a number";\n');
    const first = buildIfStale();
    assert.notEqual(first.code, 0);
    const second = buildIfStale();
    assert.notEqual(second.code, 0);
    assert.match(second.stderr, /# building/, 'nothing changed in between, yet it builds again');
    fs.rmSync(broken);
    const fixed = buildIfStale();
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.equal(buildIfStale().stderr, '');
  });

  it('bin/stagewise, reached through a symlink as npm link makes it, runs the CLI in the caller folder without rebuilding', () => {
    const elsewhere = fs.mkdtempSync(path.join(root, 'caller-'));
    const link = path.join(elsewhere, 'stagewise');
    fs.symlinkSync(path.join(root, 'bin', 'stagewise'), link);
    const stampBefore = mtime(stamp());
    const res = run(link, ['runs', 'list', '--json'], elsewhere);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(JSON.parse(res.stdout), {
      args: ['runs', 'list', '--json'],
      cwd: fs.realpathSync(elsewhere),
    });
    assert.equal(res.stderr, '', 'no build ran');
    assert.equal(mtime(stamp()), stampBefore);
  });
});
