import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { freePort } from '../src/common/net';
import { startTestServer, type TestServer } from './helpers/test-server';
import {
  createCheckpoint,
  createPolicy,
  gqlOk,
  insertCurriculum,
  insertRun,
  type Ref,
} from './helpers/seed';
import { finishRun } from './helpers/live';
import { sleep } from './helpers/runs';

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

/** A local receiver: answers each path with its scripted statuses (the last one repeats). */
async function startReceiver(script: Record<string, number[]>) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const n = received.filter((r) => r.path === path).length;
      received.push({
        path,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
        at: Date.now(),
      });
      const statuses = script[path] ?? [200];
      res.writeHead(statuses[Math.min(n, statuses.length - 1)]).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    received,
    at: (path: string) => received.filter((r) => r.path === path),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out; last ${JSON.stringify(v)}`);
    await sleep(100);
  }
}

const verify = (secret: string, body: string, header: string | undefined) => {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
  const given = Buffer.from(header ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
};

const CREATE = `mutation($input: CreateWebhookInput!) {
  createWebhook(input: $input) { secret webhook { id url events active } }
}`;
const DELIVERIES = `query($id: ID!, $first: Int, $after: String) {
  webhookDeliveries(webhookId: $id, first: $first, after: $after) {
    totalCount
    nodes { id webhookId eventType payload status attempts statusCode error nextAttemptAt deliveredAt }
    pageInfo { hasNextPage endCursor }
  }
}`;

describe('webhooks', () => {
  let t: TestServer;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  before(async () => {
    t = await startTestServer({
      WEBHOOK_MAX_ATTEMPTS: '3',
      WEBHOOK_RETRY_DELAY_SECONDS: '1',
      WEBHOOK_TIMEOUT_MS: '2000',
    });
    receiver = await startReceiver({ '/flaky': [500, 500, 200] });
  });
  after(async () => {
    await t?.close();
    await receiver?.close();
  });

  const create = async (path: string, events: string[]) =>
    (
      await gqlOk(t, CREATE, {
        input: { url: path.startsWith('http') ? path : receiver.url(path), events },
      })
    ).createWebhook as { secret: string; webhook: { id: string } };
  const deliveries = async (id: string, first = 50, after?: string) =>
    (await gqlOk(t, DELIVERIES, { id, first, after })).webhookDeliveries;
  const runEnds = async (status: 'SUCCEEDED' | 'FAILED' = 'SUCCEEDED'): Promise<Ref> => {
    const run = await insertRun(t, { stage: 'SFT', status: 'RUNNING' });
    await finishRun(t, run, 1, status);
    return run;
  };

  let ok: { secret: string; webhook: { id: string } };

  it('registers a hook for ADMIN only; READ and WRITE keys are FORBIDDEN', async () => {
    const input = { url: receiver.url('/ok'), events: ['RUN_STATUS'] };
    for (const key of [t.keys.read, t.keys.write]) {
      const res = await t.gql(CREATE, { input }, key);
      assert.equal(res.errors?.[0].extensions.code, 'FORBIDDEN');
      const list = await t.gql(`{ webhooks { totalCount } }`, {}, key);
      assert.equal(list.errors?.[0].extensions.code, 'FORBIDDEN');
    }
    const bad = await t.gql(CREATE, { input: { url: 'ftp://x', events: ['RUN_STATUS'] } });
    assert.equal(bad.errors?.[0].extensions.code, 'BAD_USER_INPUT');
    ok = await create('/ok', ['RUN_STATUS']);
    assert.match(ok.secret, /^whsec_/);
    const list = await gqlOk(t, `{ webhooks { totalCount nodes { id url events active } } }`);
    assert.deepEqual(list.webhooks.nodes, [
      { id: ok.webhook.id, url: receiver.url('/ok'), events: ['RUN_STATUS'], active: true },
    ]);
    const noSecret = await t.gql(`{ webhooks { nodes { secret } } }`);
    assert.equal(noSecret.errors?.[0].extensions.code, 'BAD_USER_INPUT', 'never shown again');
  });

  it('delivers a run status change as a signed POST that verifies with the secret', async () => {
    const run = await runEnds('SUCCEEDED');
    const [got] = await until(
      () => Promise.resolve(receiver.at('/ok')),
      (r) => r.length >= 1,
    );
    assert.ok(verify(ok.secret, got.body, got.headers['x-stagewise-signature'] as string));
    assert.ok(!verify('whsec_wrong', got.body, got.headers['x-stagewise-signature'] as string));
    assert.equal(got.headers['content-type'], 'application/json');
    assert.equal(got.headers['x-stagewise-event'], 'RUN_STATUS');
    assert.match(got.headers['x-stagewise-timestamp'] as string, /^\d{10}$/);
    const body = JSON.parse(got.body);
    assert.equal(got.headers['x-stagewise-delivery'], body.id);
    assert.equal(body.event, 'RUN_STATUS');
    assert.equal(body.run.id, run.id);
    assert.equal(body.run.status, 'SUCCEEDED');
    const log = await until(
      () => deliveries(ok.webhook.id),
      (d) => d.nodes[0]?.status === 'DELIVERED',
    );
    assert.equal(log.nodes[0].id, body.id);
    assert.equal(log.nodes[0].attempts, 1);
    assert.equal(log.nodes[0].statusCode, 200);
    assert.ok(log.nodes[0].deliveredAt);
  });

  it('retries a receiver answering 500 twice with backoff: three attempts in the log', async () => {
    const flaky = await create('/flaky', ['RUN_STATUS']);
    await runEnds('FAILED');
    const log = await until(
      () => deliveries(flaky.webhook.id),
      (d) => d.nodes[0]?.status === 'DELIVERED',
    );
    const [d] = log.nodes;
    assert.equal(d.attempts, 3);
    assert.equal(d.statusCode, 200);
    assert.equal(d.error, null);
    const tries = receiver.at('/flaky');
    assert.equal(tries.length, 3);
    assert.deepEqual(
      tries.map((r) => r.headers['x-stagewise-attempt']),
      ['1', '2', '3'],
    );
    assert.equal(new Set(tries.map((r) => r.headers['x-stagewise-delivery'])).size, 1);
    assert.ok(
      tries.every((r) =>
        verify(flaky.secret, r.body, r.headers['x-stagewise-signature'] as string),
      ),
    );
    // pg-boss waits 1-2 s after the first failure, 2-4 s after the second (retryDelay 1 s).
    const gaps = [tries[1].at - tries[0].at, tries[2].at - tries[1].at];
    assert.ok(gaps[0] >= 900, `first retry after ${gaps[0]} ms`);
    assert.ok(gaps[1] >= 1_900, `second retry after ${gaps[1]} ms`);
    await gqlOk(
      t,
      `mutation($id: ID!) { updateWebhook(id: $id, input: { active: false }) { active } }`,
      {
        id: flaky.webhook.id,
      },
    );
  });

  it('ends FAILED after the last attempt at a dead URL, with the error recorded', async () => {
    const dead = await create(`http://127.0.0.1:${await freePort()}/gone`, ['RUN_STATUS']);
    await runEnds('SUCCEEDED');
    const pending = await until(
      () => deliveries(dead.webhook.id),
      (d) => d.nodes[0]?.attempts >= 1,
    );
    assert.equal(pending.nodes[0].status, 'PENDING');
    assert.ok(pending.nodes[0].nextAttemptAt, 'the next attempt is scheduled');
    const log = await until(
      () => deliveries(dead.webhook.id),
      (d) => d.nodes[0]?.status === 'FAILED',
    );
    const [d] = log.nodes;
    assert.equal(d.attempts, 3);
    assert.equal(d.statusCode, null);
    assert.match(d.error, /ECONNREFUSED|fetch failed/);
    assert.equal(d.nextAttemptAt, null);
    await sleep(1_500);
    assert.equal((await deliveries(dead.webhook.id)).nodes[0].attempts, 3, 'no fourth attempt');
    const gone = await gqlOk(t, `mutation($id: ID!) { deleteWebhook(id: $id) }`, {
      id: dead.webhook.id,
    });
    assert.equal(gone.deleteWebhook, dead.webhook.id);
    const missing = await t.gql(DELIVERIES, { id: dead.webhook.id });
    assert.equal(missing.errors?.[0].extensions.code, 'NOT_FOUND');
  });

  it('delivers curriculum updates to hooks subscribed to them, and only to them', async () => {
    const hook = await create('/curricula', ['CURRICULUM_UPDATED']);
    const checkpoint = await createCheckpoint(t, { name: 'wh-base' });
    const policy = await createPolicy(t, { name: 'wh-policy' });
    const c = await insertCurriculum(t, { name: 'wh', baseCheckpoint: checkpoint, policy });
    await t.server.ds.query(
      `UPDATE curricula SET phase = 'PROBE', current_round = 1, updated_at = now() WHERE id = $1`,
      [c.pk],
    );
    await t.server.announcer.curriculumUpdated(Number(c.pk));
    const got = await until(
      () => Promise.resolve(receiver.at('/curricula').map((r) => JSON.parse(r.body))),
      (bodies) => bodies.some((b) => b.curriculum?.phase === 'PROBE'),
    );
    assert.ok(got.every((b) => b.event === 'CURRICULUM_UPDATED'));
    const probe = got.find((b) => b.curriculum.phase === 'PROBE');
    assert.equal(probe.curriculum.id, c.id);
    assert.equal(probe.curriculum.currentRound, 1);
    await runEnds('SUCCEEDED');
    await sleep(1_000);
    assert.ok(
      receiver.at('/curricula').every((r) => JSON.parse(r.body).event === 'CURRICULUM_UPDATED'),
    );
    // The run-status hook got no curriculum event.
    assert.ok(receiver.at('/ok').every((r) => JSON.parse(r.body).event === 'RUN_STATUS'));
    assert.ok((await deliveries(hook.webhook.id)).totalCount >= 1);
  });

  it('pages through the delivery log with first/after cursors', async () => {
    const all = await until(
      () => deliveries(ok.webhook.id),
      (d) =>
        d.totalCount >= 4 && d.nodes.every((n: { status: string }) => n.status === 'DELIVERED'),
    );
    const ids: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await deliveries(ok.webhook.id, 1, after);
      assert.ok(page.nodes.length <= 1);
      ids.push(...page.nodes.map((n: { id: string }) => n.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    assert.deepEqual(
      ids,
      all.nodes.map((n: { id: string }) => n.id),
    );
    assert.equal(new Set(ids).size, all.totalCount);
  });
});
