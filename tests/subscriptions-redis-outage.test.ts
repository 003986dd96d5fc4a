/**
 * Redis stopped (or frozen) under REDIS_URL while a runner reports and a subscriber listens: the
 * runner's posts must all succeed while Redis is away (storing events never waits on pub/sub),
 * and once Redis is back the live stream must be exact: every event once, in order.
 * A private redis-server on a free port is started, killed and restarted by the test.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client as WsClient } from 'graphql-ws';
import { ApiKeyScope } from '../src/modules/api-keys/api-key.entity';
import { startTestServer, type TestServer } from './helpers/test-server';
import { insertRun } from './helpers/seed';
import { RUN_EVENTS, collect, range, seqsOf, wsClient } from './helpers/live';

/** Far beyond what any step takes when it works; they fail only if something hangs for good. */
const GENEROUS_MS = 60_000;

const hasRedis = spawnSync('redis-server', ['--version']).status === 0;

async function freePort(): Promise<number> {
  const srv = net.createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as net.AddressInfo;
  srv.close();
  await once(srv, 'close');
  return port;
}

/** Resolves once something accepts TCP connections on the port. */
async function listening(port: number): Promise<void> {
  for (let tries = 0; ; tries += 1) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (tries > 600) throw new Error(`redis-server did not listen on ${port}`);
    await sleep(100);
  }
}

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  await listening(port);
  return child;
}

async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGKILL');
  await once(child, 'exit');
}

/** Fails with `what` if `work` has not settled within GENEROUS_MS (a hang, not a slowness). */
async function within<T>(what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still pending`)), GENEROUS_MS);
  });
  try {
    return await Promise.race([work, hung]);
  } finally {
    clearTimeout(timer);
  }
}

describe('subscriptions over redis while redis is away', { skip: !hasRedis }, () => {
  let port: number;
  let redis: ChildProcess;
  let a: TestServer;
  let ws: WsClient;

  before(async () => {
    port = await freePort();
    redis = await startRedis(port);
    a = await startTestServer({ REDIS_URL: `redis://127.0.0.1:${port}` });
    ws = wsClient(a.url, a.keys.read);
  });
  after(async () => {
    await ws?.dispose();
    await a?.close();
    if (redis) {
      await stopRedis(redis);
    }
  });

  /** A running run, its runner's token, and a function that posts events as the runner does. */
  async function runnerOf() {
    const r = await insertRun(a, { stage: 'SFT', status: 'RUNNING' });
    const { key } = await a.server.services.apiKeys.create({
      name: `runner-${r.pk}`,
      scopes: [ApiKeyScope.RUNNER],
      runId: Number(r.pk),
    });
    const report = async (seq: number, type = 'LOG', payload: object = { line: `line ${seq}` }) => {
      const res = await fetch(`${a.url}/v1/runs/${r.id}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ events: [{ seq, type, payload }] }),
      });
      return { status: res.status, body: await res.text() };
    };
    return { r, report };
  }

  /** Posts seqs one by one; every post must be accepted. */
  async function reportAll(
    report: (seq: number) => Promise<{ status: number; body: string }>,
    seqs: number[],
  ) {
    for (const seq of seqs) {
      const res = await report(seq);
      assert.equal(res.status, 200, `seq ${seq}: ${res.body}`);
    }
  }

  it('accepts the runner while redis is stopped and streams everything once it returns', async () => {
    const { r, report } = await runnerOf();
    const sub = collect<{ seq: number; type: string }>(ws, 'runEvents', RUN_EVENTS, {
      runId: r.id,
    });
    await reportAll(report, range(1, 5));
    await sub.until((items) => items.length >= 5, GENEROUS_MS);

    await stopRedis(redis);
    // Before the fix each post waited on the queued PUBLISH until Redis came back (or ~20 s of
    // retries), long enough for the run's heartbeat to lapse and its token to be revoked.
    await within('posts while redis is stopped', reportAll(report, range(6, 15)));

    redis = await startRedis(port);
    await reportAll(report, range(16, 20));
    const last = await report(21, 'STATUS', { status: 'SUCCEEDED' });
    assert.equal(last.status, 200, last.body);
    // Whether the stream then ends depends on when the run's log is closed, not on Redis.
    await sub.until((items) => items.at(-1)?.type === 'STATUS', GENEROUS_MS);
    sub.stop();
    assert.deepEqual(sub.errors, []);
    assert.deepEqual(seqsOf(sub.items), range(1, 21));
    assert.equal(sub.items.at(-1)?.type, 'STATUS');
  });

  it('accepts the runner while redis is frozen and streams everything once it resumes', async () => {
    const { r, report } = await runnerOf();
    const sub = collect<{ seq: number; type: string }>(ws, 'runEvents', RUN_EVENTS, {
      runId: r.id,
    });
    await reportAll(report, range(1, 3));
    await sub.until((items) => items.length >= 3, GENEROUS_MS);

    // A hung Redis keeps its sockets open: nothing tells the client it is gone. Before the fix
    // a PUBLISH then waited for ever, and so did the runner's post.
    redis.kill('SIGSTOP');
    try {
      await within('posts while redis is frozen', reportAll(report, range(4, 6)));
    } finally {
      redis.kill('SIGCONT');
    }

    await reportAll(report, range(7, 9));
    const last = await report(10, 'STATUS', { status: 'FAILED' });
    assert.equal(last.status, 200, last.body);
    // Whether the stream then ends depends on when the run's log is closed, not on Redis.
    await sub.until((items) => items.at(-1)?.type === 'STATUS', GENEROUS_MS);
    sub.stop();
    assert.deepEqual(sub.errors, []);
    assert.deepEqual(seqsOf(sub.items), range(1, 10));
  });
});
