/**
 * SIGTERM while keep-alive clients keep sending (issue 9). The API used to hang for good: Apollo
 * registered a SIGTERM handler of its own (outside NODE_ENV=test) whose stop() still drained when
 * ours called stop() a second time, and that second call awaited a barrier never resolved. So the
 * server runs here as it runs in production, in a process of its own.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import path from 'node:path';
import { createTestDatabase } from './helpers/test-server';
import { removeTempDir, tempDir } from './helpers/temp';

const DIST = path.join(__dirname, '..');
const MAIN = path.join(DIST, 'src', 'main.js');
const KEYS = path.join(DIST, 'src', 'cli', 'keys.js');
const CLIENTS = 20;
// Generous: the process should be gone within the grace period (2 s here) plus its own stop.
const EXIT_WAIT_MS = 60_000;

function readKey(env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [KEYS, 'create', '--name', 'load', '--scopes', 'READ'],
      { env },
      (err, stdout) => {
        const key = /sw_\S+/.exec(stdout)?.[0];
        if (err || !key) reject(err ?? new Error(`no key in: ${stdout}`));
        else resolve(key);
      },
    );
  });
}

function startApi(env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const match = /stagewise API\s+(http:\/\/\S+)\/graphql/.exec(out);
      if (match) resolve({ child, url: match[1] });
    });
    child.once('exit', (code) => reject(new Error(`API exited with ${code} on start: ${err}`)));
  });
}

interface Answer {
  status: number;
}

/** One POST /graphql on a keep-alive socket; rejects when the socket is refused or cut. */
function ask(url: string, agent: http.Agent, key: string): Promise<Answer> {
  const body = JSON.stringify({ query: '{ datasets(first: 5) { totalCount } }' });
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${url}/graphql`,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: `Bearer ${key}`,
        },
      },
      (res) => {
        res.resume();
        res.once('end', () => resolve({ status: res.statusCode ?? 0 }));
        res.once('error', reject);
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}

describe('SIGTERM under a steady stream of keep-alive requests', () => {
  let db: { url: string; drop(): Promise<void> };
  let runsDir: string;
  let api: { child: ChildProcess; url: string } | undefined;

  before(async () => {
    db = await createTestDatabase();
    runsDir = tempDir('stagewise-shutdown-');
  });
  after(async () => {
    if (api && api.child.exitCode === null && api.child.signalCode === null) {
      api.child.kill('SIGKILL');
      await once(api.child, 'exit');
    }
    await db?.drop();
    removeTempDir(runsDir);
  });

  it('stops accepting, ends the keep-alive connections and exits 0', async () => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      // Production, as deployed: Apollo's own signal handling is only skipped under test.
      NODE_ENV: 'production',
      DATABASE_URL: db.url,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'silent',
      BOOTSTRAP_ADMIN_KEY: 'false',
      RUNS_DIR: runsDir,
      SHUTDOWN_GRACE_MS: '2000',
    };
    api = await startApi(env);
    const key = await readKey(env);
    const exited = once(api.child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;

    const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
    const answers: Answer[] = [];
    let signalled = false;
    let answeredBeforeSignal = 0;
    // Each client sends again as soon as it has an answer, until its socket is refused or cut.
    const clients = Array.from({ length: CLIENTS }, async () => {
      for (;;) {
        try {
          const answer = await ask(api!.url, agent, key);
          if (signalled) answers.push(answer);
          else answeredBeforeSignal += 1;
        } catch {
          if (signalled) return;
        }
      }
    });
    while (answeredBeforeSignal < 200) await new Promise((r) => setTimeout(r, 50));

    signalled = true;
    api.child.kill('SIGTERM');
    const timer = setTimeout(() => api!.child.kill('SIGKILL'), EXIT_WAIT_MS);
    const [code, signal] = await exited;
    clearTimeout(timer);
    await Promise.all(clients);
    agent.destroy();

    assert.equal(signal, null, `the API was still running ${EXIT_WAIT_MS} ms after SIGTERM`);
    assert.equal(code, 0);
    for (const a of answers) assert.equal(a.status, 200);
    // Every client stopped: its socket was refused or cut once the server closed, so no
    // keep-alive connection held the process. (Answers written after the drain began also carry
    // Connection: close; whether any answer falls in that window depends on timing, so it is
    // not asserted here.)
  });
});
