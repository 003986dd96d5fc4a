/**
 * Two API processes on one database: events written through process A (stored, then announced
 * by A) reach a subscriber of process B, over Postgres NOTIFY and over Redis (REDIS_URL).
 * A runs in this process; B is `node dist/src/main.js` in a child process.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client as WsClient } from 'graphql-ws';
import { ApiKeyScope } from '../src/modules/api-keys/api-key.entity';
import { startTestServer, type TestServer } from './helpers/test-server';
import { insertRun } from './helpers/seed';
import {
  RUN_EVENTS,
  RUN_UPDATED,
  appendEvents,
  collect,
  finishRun,
  range,
  seqsOf,
  setRunStatus,
  sseClient,
  wsClient,
} from './helpers/live';

const MAIN = path.join(__dirname, '..', 'src', 'main.js');
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Starts `node main.js` on the same database; resolves with its URL once it listens. */
async function startProcessB(
  env: Record<string, string>,
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'silent',
      BOOTSTRAP_ADMIN_KEY: 'false',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`process B did not start: ${err}`)), 30_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const match = /stagewise API\s+(http:\/\/\S+)\/graphql/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`process B exited with ${code}: ${err}`));
    });
  });
  return { url, child };
}

for (const backend of ['postgres', 'redis'] as const) {
  describe(`subscriptions across two API processes (${backend})`, () => {
    let a: TestServer;
    let b: { url: string; child: ChildProcess };
    const clients: { dispose(): unknown }[] = [];
    let wsB: WsClient;

    before(async () => {
      const env: Record<string, string> = backend === 'redis' ? { REDIS_URL } : {};
      a = await startTestServer(env);
      const url = (a.server.ds.options as { url: string }).url;
      b = await startProcessB({ ...env, DATABASE_URL: url });
      wsB = wsClient(b.url, a.keys.read);
      clients.push(wsB);
    });
    after(async () => {
      for (const c of clients) await c.dispose();
      if (b?.child.exitCode === null) {
        b.child.kill('SIGTERM');
        await once(b.child, 'exit');
      }
      await a?.close();
    });

    it('streams events written through A to a subscriber of B, replay then live', async () => {
      const r = await insertRun(a, { stage: 'SFT', status: 'RUNNING' });
      await appendEvents(a, r, range(1, 3));
      const sub = collect<{ seq: number }>(wsB, 'runEvents', RUN_EVENTS, { runId: r.id });
      await sub.until((items) => items.length >= 3);
      for (let seq = 4; seq <= 20; seq += 1) await appendEvents(a, r, [seq]);
      await finishRun(a, r, 21, 'SUCCEEDED');
      await sub.done;
      assert.deepEqual(seqsOf(sub.items), range(1, 21));
    });

    it("streams what a runner reports through A's runner endpoint to B", async () => {
      const r = await insertRun(a, { stage: 'SFT', status: 'RUNNING' });
      const { key } = await a.server.services.apiKeys.create({
        name: `runner-${r.pk}`,
        scopes: [ApiKeyScope.RUNNER],
        runId: Number(r.pk),
      });
      const report = async (events: { seq: number; type: string; payload: object }[]) => {
        const res = await fetch(`${a.url}/v1/runs/${r.id}/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body: JSON.stringify({ events }),
        });
        assert.equal(res.status, 200, await res.text());
      };
      const sub = collect<{ seq: number; type: string }>(wsB, 'runEvents', RUN_EVENTS, {
        runId: r.id,
      });
      await sleep(100);
      for (let k = 1; k <= 10; k += 1) {
        await report([{ seq: k, type: 'METRIC', payload: { loss: 1 / k } }]);
      }
      await report([{ seq: 11, type: 'STATUS', payload: { status: 'SUCCEEDED' } }]);
      await sub.done; // SUCCEEDED is terminal: the stream ends after the last event
      assert.deepEqual(seqsOf(sub.items), range(1, 11));
      assert.equal(sub.items.at(-1)?.type, 'STATUS');
    });

    it('resumes on B after a disconnect with nothing lost or repeated', async () => {
      const r = await insertRun(a, { stage: 'RL', status: 'RUNNING' });
      const first = wsClient(b.url, a.keys.read);
      const seen = collect<{ seq: number }>(first, 'runEvents', RUN_EVENTS, { runId: r.id });
      await sleep(100);
      await appendEvents(a, r, range(1, 5));
      await seen.until((items) => items.length >= 5);
      await first.dispose();
      await appendEvents(a, r, range(6, 8));
      const sse = sseClient(b.url, a.keys.read);
      clients.push(sse);
      const resumed = collect<{ seq: number }>(sse, 'runEvents', RUN_EVENTS, {
        runId: r.id,
        afterSeq: seen.items.at(-1)!.seq,
      });
      await resumed.until((items) => items.length >= 3);
      await finishRun(a, r, 9, 'FAILED');
      await resumed.done;
      assert.deepEqual([...seqsOf(seen.items), ...seqsOf(resumed.items)], range(1, 9));
    });

    it('delivers runUpdated from A to B', async () => {
      const r = await insertRun(a, { stage: 'EVAL', status: 'QUEUED' });
      const sub = collect<{ id: string; status: string }>(wsB, 'runUpdated', RUN_UPDATED, {
        filter: { runIds: [r.id] },
      });
      await sleep(100);
      await setRunStatus(a, r, 'STARTING');
      await sub.until((items) => items.some((i) => i.status === 'STARTING'));
      await setRunStatus(a, r, 'RUNNING');
      await sub.until((items) => items.some((i) => i.status === 'RUNNING'));
      assert.deepEqual(
        sub.items.map((i) => i.status),
        ['STARTING', 'RUNNING'],
      );
      sub.stop();
    });
  });
}
