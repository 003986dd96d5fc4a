import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { SERVER_NODE_FLAGS } from '../src/app/server-node-flags';

const BENCH = path.join(__dirname, '..', 'bench', 'subscription-latency.js');

function withoutDatabaseUrl(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.TEST_DATABASE_URL;
  return env;
}

/**
 * `npm run bench:subscriptions` at a tiny size. The benchmark runs itself again under the API's
 * Node flags (bench/with-server-flags.ts); that second process once kept an IPC channel to the
 * first open and never exited after printing its result. The exit is what is asserted: the
 * limit below only turns a hang into a failure, it judges no speed.
 */
describe('npm run bench:subscriptions', () => {
  it('prints its result line and exits, run under the server flags', async () => {
    assert.ok(SERVER_NODE_FLAGS.length > 0, 'with no server flag the re-run path is not taken');
    const child = spawn(
      process.execPath,
      [
        BENCH,
        '--subscribers',
        '20',
        '--events',
        '3',
        '--burst-events',
        '5',
        '--warmup-events',
        '1',
      ],
      // Without TEST_DATABASE_URL, as on a fresh machine: the benchmark starts an embedded
      // PostgreSQL, whose library listens for IPC messages (a PM2 shutdown hook), which is what
      // kept a forked re-run alive.
      { env: withoutDatabaseUrl(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const hang = setTimeout(() => child.kill('SIGKILL'), 180_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.once('exit', (c, s) => resolve([c, s])),
    );
    clearTimeout(hang);
    assert.equal(signal, null, `did not exit by itself:\n${out.slice(-2000)}`);
    assert.equal(code, 0, out.slice(-2000));
    const last = out.trim().split('\n').at(-1) ?? '';
    assert.match(
      last,
      /^subscriptions: p99 \d+ ms at 20 subscribers \(500 ms pacing\), \d+ deliveries\/s at 20 ms pacing, exact yes$/,
    );
  });
});
