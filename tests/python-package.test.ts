/**
 * The Python client is an installable package: `pip install -e clients/python`, as the README
 * gives it, works on a machine without network (its build backend needs nothing from an index),
 * with Debian's python3 in a fresh virtual environment, with and without build isolation.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PYTHON } from './helpers/runs';
import { removeTempDir, tempDir } from './helpers/temp';
import { CLIENT_DIR, runCommand } from './helpers/python';

/** Name and version as pyproject.toml declares them. */
function declared(): { name: string; version: string } {
  const project = fs.readFileSync(path.join(CLIENT_DIR, 'pyproject.toml'), 'utf8');
  const field = (key: string) => project.match(new RegExp(`^${key} = "([^"]+)"`, 'm'))?.[1];
  return { name: field('name') ?? '', version: field('version') ?? '' };
}

describe('the Python client package', () => {
  let dir: string;
  let venvPython: string;

  before(async () => {
    dir = tempDir('stagewise-pip-');
    const venv = await runCommand(PYTHON, ['-m', 'venv', path.join(dir, 'venv')], {}, 120_000);
    assert.equal(venv.code, 0, venv.output);
    venvPython = path.join(dir, 'venv', 'bin', 'python');
  });
  after(() => removeTempDir(dir));

  it('pyproject.toml names it stagewise with the version the package reports', () => {
    const init = fs.readFileSync(path.join(CLIENT_DIR, 'stagewise', '__init__.py'), 'utf8');
    assert.equal(declared().name, 'stagewise');
    assert.equal(init.match(/__version__ = "([^"]+)"/)?.[1], declared().version);
  });

  for (const isolation of [true, false]) {
    it(`pip install -e clients/python works with no package index${isolation ? '' : ' and --no-build-isolation'}`, async () => {
      const args = ['-m', 'pip', 'install', '--no-index', '-e', CLIENT_DIR];
      if (!isolation) args.splice(3, 0, '--no-build-isolation');
      // No index, no find-links: nothing can come from the network or a local mirror.
      const env = { PIP_FIND_LINKS: '', PIP_EXTRA_INDEX_URL: '', PIP_CONFIG_FILE: os.devNull };
      const install = await runCommand(venvPython, args, env, 180_000);
      assert.equal(install.code, 0, install.output);
      assert.match(
        install.output,
        new RegExp(`Successfully installed stagewise-${declared().version}`),
      );

      // Imported from elsewhere (a notebook's kernel runs in its own folder): the checkout's code.
      const probe = `import stagewise, sys; print(stagewise.__version__); print(stagewise.__file__)`;
      const imported = await runCommand(
        '/bin/sh',
        ['-c', `cd "${dir}" && "${venvPython}" -c "${probe}"`],
        { PYTHONPATH: '' },
        60_000,
      );
      assert.equal(imported.code, 0, imported.output);
      const [version, file] = imported.output.trim().split('\n');
      assert.equal(version, declared().version);
      assert.equal(file, path.join(CLIENT_DIR, 'stagewise', '__init__.py'));
    });
  }
});
