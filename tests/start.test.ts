import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const REPO = path.join(__dirname, '..', '..');
const MAIN = path.join(__dirname, '..', 'src', 'main.js');

function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { env, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

/** A second `npm start` while one runs: one line naming the port, exit 1, nothing built. */
describe('starting on a port that is taken', () => {
  let holder: net.Server;
  let port: number;
  let checkout: string;
  const builtMarker = () => path.join(checkout, 'built');

  before(async () => {
    // A real listener holds the port, as a running stagewise would.
    holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', () => resolve()));
    port = (holder.address() as net.AddressInfo).port;
    // scripts/start.sh in a checkout of its own whose "build" leaves a marker file.
    checkout = fs.mkdtempSync(path.join(os.tmpdir(), 'stagewise-start-'));
    fs.mkdirSync(path.join(checkout, 'scripts'));
    fs.mkdirSync(path.join(checkout, 'node_modules'));
    fs.copyFileSync(
      path.join(REPO, 'scripts', 'start.sh'),
      path.join(checkout, 'scripts', 'start.sh'),
    );
    fs.writeFileSync(
      path.join(checkout, 'scripts', 'build-if-stale.sh'),
      `touch "${builtMarker()}"\n`,
    );
  });
  after(async () => {
    await new Promise((resolve) => holder.close(resolve));
    fs.rmSync(checkout, { recursive: true, force: true });
  });

  it('npm start (scripts/start.sh) says the port is taken and exits 1 before building', async () => {
    const res = await run('bash', [path.join(checkout, 'scripts', 'start.sh')], {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
    });
    assert.equal(res.code, 1, res.stderr);
    assert.equal(res.stderr.trim(), `port ${port} is taken (another stagewise?); set PORT`);
    assert.equal(res.stdout, '');
    assert.ok(!fs.existsSync(builtMarker()), 'no build ran');
  });

  it('the server itself says so before it opens its database (no stack, one line)', async () => {
    const res = await run(process.execPath, [MAIN], {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      // Unreachable: reaching it would fail with a database error instead of the port's line.
      DATABASE_URL: 'postgres://stagewise@127.0.0.1:1/none',
      LOG_LEVEL: 'silent',
    });
    assert.equal(res.code, 1, res.stderr);
    assert.equal(res.stderr.trim(), `port ${port} is taken (another stagewise?); set PORT`);
  });
});
