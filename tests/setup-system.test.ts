import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir, removeTempDir } from './helpers/temp';

const SCRIPT = path.join(__dirname, '..', '..', 'scripts', 'setup-system.sh');
const isRoot = process.getuid?.() === 0;
const NOT_INSTALLED = 'stagewise-no-such-package';

/**
 * scripts/setup-system.sh, run for real against this machine's dpkg database. The package list is
 * replaced (STAGEWISE_SYSTEM_PACKAGES) by packages every Debian has, or by one that does not
 * exist. Where an install would really happen, a stand-in `apt-get` earlier on PATH records its
 * arguments and prints what apt would: the test must not change the machine.
 */
describe('setup-system: installs only what is missing, says so in one line, upgrades nothing', () => {
  let bin: string;
  const calls = () => {
    const file = path.join(bin, 'calls');
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n') : [];
  };
  const run = (
    packages: string,
    apt: { simulate?: string; installFails?: boolean; allowUpgrades?: boolean } = {},
  ) => {
    fs.rmSync(path.join(bin, 'calls'), { force: true });
    const res = spawnSync('bash', [SCRIPT], {
      encoding: 'utf8',
      timeout: 60_000,
      env: {
        ...process.env,
        PATH: `${bin}:${process.env.PATH}`,
        STAGEWISE_SYSTEM_PACKAGES: packages,
        FAKE_APT_SIMULATE: apt.simulate ?? `Inst ${NOT_INSTALLED} (1.0 Debian:12/stable [amd64])`,
        FAKE_APT_INSTALL_FAILS: apt.installFails ? '1' : '',
        // CI sets it; each test says what it wants.
        STAGEWISE_SETUP_ALLOW_UPGRADES: apt.allowUpgrades ? '1' : '',
      },
    });
    return { code: res.status, stdout: res.stdout, stderr: res.stderr };
  };

  before(() => {
    bin = tempDir('stagewise-setup-system-');
    // The stand-in apt-get: `install -s` prints FAKE_APT_SIMULATE; a real install prints apt's
    // usual chatter and fails when FAKE_APT_INSTALL_FAILS is set.
    fs.writeFileSync(
      path.join(bin, 'apt-get'),
      [
        '#!/bin/bash',
        `echo "$*" >> "${bin}/calls"`,
        'if [ "$1" = install ] && [ "$2" = -s ]; then echo "$FAKE_APT_SIMULATE"; exit 0; fi',
        'echo "Reading package lists..."; echo "Unpacking something (1.0) ..."',
        'if [ "$1" = install ] && [ -n "$FAKE_APT_INSTALL_FAILS" ]; then echo "E: Sub-process returned an error code (1)"; exit 100; fi',
        'exit 0',
      ].join('\n') + '\n',
      { mode: 0o755 },
    );
  });
  after(() => removeTempDir(bin));

  it('prints nothing and calls apt-get not at all when every package is installed', () => {
    const res = run('bash coreutils');
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout + res.stderr, '');
    assert.deepEqual(calls(), []);
  });

  it(
    'installs a missing package with --no-upgrade, printing one line that names it and hiding apt',
    { skip: !isRoot && 'needs root: the script takes the install path only as root' },
    () => {
      const res = run(`bash ${NOT_INSTALLED}`);
      assert.equal(res.code, 0, res.stderr);
      assert.equal(res.stderr, '');
      assert.equal(
        res.stdout,
        `# setup-system: installing ${NOT_INSTALLED} (asked for by STAGEWISE_SYSTEM_PACKAGES)\n`,
      );
      // The lists are not refreshed (that is what pulls upgrades) and only the missing one is named.
      assert.deepEqual(calls(), [
        `install -s --no-upgrade ${NOT_INSTALLED}`,
        `install -y -q --no-upgrade ${NOT_INSTALLED}`,
      ]);
    },
  );

  it(
    "shows apt's output when the install fails, and exits non-zero",
    { skip: !isRoot && 'needs root: the script takes the install path only as root' },
    () => {
      const res = run(NOT_INSTALLED, { installFails: true });
      assert.equal(res.code, 1);
      assert.match(res.stderr, /installing stagewise-no-such-package failed; apt-get said:/);
      assert.match(res.stderr, /E: Sub-process returned an error code \(1\)/);
      // A failed install is retried once after refreshing the lists (a mirror may have moved on).
      assert.ok(calls().includes('update -qq'), calls().join('\n'));
    },
  );

  it(
    'refuses, changing nothing, an install that would upgrade an installed package',
    { skip: !isRoot && 'needs root: the script takes the install path only as root' },
    () => {
      const res = run(NOT_INSTALLED, {
        simulate: [
          'Inst libc6 [2.36-9+deb12u9] (2.36-9+deb12u10 Debian:12/stable [amd64])',
          `Inst ${NOT_INSTALLED} (1.0 Debian:12/stable [amd64])`,
        ].join('\n'),
      });
      assert.equal(res.code, 1);
      assert.match(res.stderr, /would upgrade installed packages: libc6\./);
      assert.match(res.stderr, /apt-get install --no-upgrade -y stagewise-no-such-package/);
      assert.deepEqual(calls(), [`install -s --no-upgrade ${NOT_INSTALLED}`], 'no install ran');
    },
  );

  it(
    'with STAGEWISE_SETUP_ALLOW_UPGRADES=1 (CI), installs and names the upgrades it required',
    { skip: !isRoot && 'needs root: the script takes the install path only as root' },
    () => {
      const res = run(NOT_INSTALLED, {
        allowUpgrades: true,
        simulate: [
          'Inst libc6 [2.36-9+deb12u9] (2.36-9+deb12u10 Debian:12/stable [amd64])',
          `Inst ${NOT_INSTALLED} (1.0 Debian:12/stable [amd64])`,
        ].join('\n'),
      });
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, new RegExp(`also upgrading, as ${NOT_INSTALLED} require: libc6\n`));
      assert.deepEqual(calls(), [
        `install -s --no-upgrade ${NOT_INSTALLED}`,
        `install -y -q --no-upgrade ${NOT_INSTALLED}`,
      ]);
    },
  );

  it('as a user without root, prints the command to run as root and exits 1', () => {
    // The script comes on stdin: the unprivileged user need not be able to read this checkout.
    const asUser = isRoot ? ['runuser', ['-u', 'nobody', '--', 'bash', '-s']] : ['bash', ['-s']];
    const res = spawnSync(asUser[0] as string, asUser[1] as string[], {
      input: fs.readFileSync(SCRIPT),
      encoding: 'utf8',
      timeout: 60_000,
      env: { PATH: process.env.PATH, STAGEWISE_SYSTEM_PACKAGES: `bash ${NOT_INSTALLED}` },
    });
    if (!isRoot && spawnSync('sudo', ['-n', 'true']).status === 0) {
      return; // this user has passwordless sudo: the script would use it
    }
    assert.equal(res.status, 1, res.stdout + res.stderr);
    assert.equal(res.stdout, '');
    assert.match(res.stderr, new RegExp(`missing: ${NOT_INSTALLED} \\(`));
    assert.match(res.stderr, new RegExp(`sudo apt-get install --no-upgrade -y ${NOT_INSTALLED}\n`));
  });
});
