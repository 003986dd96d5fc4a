import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { ApiKeyScope } from '../src/modules/api-keys/api-key.entity';
import { adminDatabaseUrl, startTestServer, type TestServer } from './helpers/test-server';
import { insertRun, type Ref } from './helpers/seed';
import { RUN_UPDATED, collect, wsClient } from './helpers/live';
import { sleep } from './helpers/runs';

/** One sample's value from Prometheus text, or undefined when the series is absent. */
function sample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = (m[2] ?? '').split(/,(?=[a-zA-Z_]+=")/);
    if (wanted.every((w) => have.includes(w))) return Number(m[3]);
  }
  return undefined;
}

/** Polls `read` until `ok` holds for what it returns; fails with the last value after `ms`. */
async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out; last ${String(v)}`);
    await sleep(100);
  }
}

async function scrape(url: string, token?: string): Promise<string> {
  const res = await fetch(`${url}/metrics`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  return res.text();
}

describe('operations: metrics, health and readiness', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(async () => {
    await t?.close();
  });

  it('serves Node default metrics and every stagewise family on GET /metrics', async () => {
    const text = await scrape(t.url);
    for (const family of [
      'stagewise_process_cpu_user_seconds_total',
      'stagewise_nodejs_eventloop_lag_seconds',
      'stagewise_http_request_duration_seconds',
      'stagewise_graphql_operation_duration_seconds',
      'stagewise_run_events_ingested_total',
      'stagewise_live_subscriptions',
      'stagewise_runs',
      'stagewise_queue_depth',
    ]) {
      assert.match(text, new RegExp(`^# TYPE ${family} `, 'm'), family);
    }
    assert.equal(sample(text, 'stagewise_queue_depth', { queue: 'runs-local' }), 0);
    assert.equal(sample(text, 'stagewise_runs', { status: 'RUNNING' }), 0);
  });

  it('times GraphQL operations by type and name, and HTTP requests by route pattern', async () => {
    for (let i = 0; i < 3; i += 1) {
      const res = await t.gql(`query ListKeys { apiKeys(first: 1) { totalCount } }`);
      assert.equal(res.errors, undefined);
    }
    await t.gql(`mutation Nothing { revokeApiKey(id: "nope") { id } }`);
    const text = await scrape(t.url);
    const count = (labels: Record<string, string>) =>
      sample(text, 'stagewise_graphql_operation_duration_seconds_count', labels);
    assert.equal(count({ operation: 'query', name: 'ListKeys' }), 3);
    assert.equal(count({ operation: 'mutation', name: 'Nothing' }), 1);
    const http = (labels: Record<string, string>) =>
      sample(text, 'stagewise_http_request_duration_seconds_count', labels);
    assert.equal(http({ method: 'POST', route: '/graphql', status: '200' }), 4);
    // The scrapes before this one are counted once they finished.
    assert.ok((http({ method: 'GET', route: '/metrics', status: '200' }) ?? 0) >= 1);
  });

  describe('runner events and runs by status', () => {
    let run: Ref;
    let key: string;
    before(async () => {
      run = await insertRun(t, { stage: 'SFT', status: 'RUNNING' });
      key = (
        await t.server.services.apiKeys.create({
          name: 'runner-metrics',
          scopes: [ApiKeyScope.RUNNER],
          runId: Number(run.pk),
        })
      ).key;
    });
    const post = (seqs: number[]) =>
      fetch(`${t.url}/v1/runs/${run.id}/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          events: seqs.map((seq) => ({ seq, type: 'METRIC', payload: { 'train/loss': 1 / seq } })),
        }),
      });

    it('counts stored events, not resends, and names the REST route by its pattern', async () => {
      const before = sample(await scrape(t.url), 'stagewise_run_events_ingested_total');
      assert.equal(before, 0);
      assert.equal((await post([1, 2, 3])).status, 200);
      assert.equal((await post([2, 3, 4])).status, 200);
      const spec = await fetch(`${t.url}/v1/runs/${run.id}/spec`, {
        headers: { authorization: `Bearer ${key}` },
      });
      assert.equal(spec.status, 200);
      const text = await scrape(t.url);
      assert.equal(sample(text, 'stagewise_run_events_ingested_total'), 4);
      const http = (labels: Record<string, string>) =>
        sample(text, 'stagewise_http_request_duration_seconds_count', labels);
      assert.equal(http({ method: 'POST', route: '/v1/runs/:runId/events', status: '200' }), 2);
      assert.equal(http({ method: 'GET', route: '/v1/runs/:runId/spec', status: '200' }), 1);
      assert.doesNotMatch(text, new RegExp(run.id), 'no series per run id');
    });

    it('reads runs by status and queue depth from the database at scrape time', async () => {
      await insertRun(t, { stage: 'RL', status: 'FAILED' });
      await insertRun(t, { stage: 'RL', status: 'FAILED' });
      // A job that waits an hour: counted as queued, never worked during the test.
      await t.server.ds.query(
        `INSERT INTO pgboss.job (name, data, start_after)
         VALUES ('runs-local', '{"runId": 0}', now() + interval '1 hour')`,
      );
      const text = await scrape(t.url);
      assert.equal(sample(text, 'stagewise_runs', { status: 'RUNNING' }), 1);
      assert.equal(sample(text, 'stagewise_runs', { status: 'FAILED' }), 2);
      assert.equal(sample(text, 'stagewise_runs', { status: 'QUEUED' }), 0);
      assert.equal(sample(text, 'stagewise_queue_depth', { queue: 'runs-local' }), 1);
      await t.server.ds.query(`DELETE FROM pgboss.job WHERE name = 'runs-local'`);
    });
  });

  it('counts a graphql-ws subscription while it is open: 1, then 0 once it ends', async () => {
    const live = async () =>
      sample(await scrape(t.url), 'stagewise_live_subscriptions', { transport: 'ws' });
    assert.equal(await live(), 0);
    const client = wsClient(t.url, t.keys.read);
    try {
      const sub = collect(client, 'runUpdated', RUN_UPDATED, {});
      await until(live, (n) => n === 1, 10_000);
      assert.equal(
        sample(await scrape(t.url), 'stagewise_live_subscriptions', { transport: 'sse' }),
        0,
      );
      sub.stop();
      await until(live, (n) => n === 0, 10_000);
    } finally {
      await client.dispose();
    }
    assert.equal(await live(), 0);
  });

  it('keeps GET /healthz for liveness', async () => {
    const res = await fetch(`${t.url}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  it('is ready when the database answers and every migration is applied', async () => {
    const res = await fetch(`${t.url}/readyz`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as any;
    assert.equal(body.status, 'ready');
    assert.equal(body.database.ok, true);
    assert.deepEqual(body.migrations.pending, []);
    assert.equal(body.migrations.applied, t.server.ds.migrations.length);
  });

  it('is not ready (503) while the last migration is undone, and names it', async () => {
    // The last by the timestamp that ends each migration's name (what undo goes by), not by
    // the whole name's alphabetical order.
    const stamp = (name = '') => Number(/(\d+)$/.exec(name)?.[1] ?? 0);
    const last = [...t.server.ds.migrations]
      .map((m) => m.name)
      .sort((a, b) => stamp(a) - stamp(b))
      .at(-1);
    await t.server.ds.undoLastMigration({ transaction: 'each' });
    try {
      const res = await fetch(`${t.url}/readyz`);
      assert.equal(res.status, 503);
      const body = (await res.json()) as any;
      assert.equal(body.status, 'not ready');
      assert.equal(body.database.ok, true);
      assert.deepEqual(body.migrations.pending, [last]);
    } finally {
      await t.server.ds.runMigrations({ transaction: 'each' });
    }
    assert.equal((await fetch(`${t.url}/readyz`)).status, 200);
  });

  it('is not ready (503) while the database refuses connections, and ready again after', async () => {
    const name = new URL((t.server.ds.options as { url: string }).url).pathname.slice(1);
    const admin = new pg.Client({ connectionString: adminDatabaseUrl() });
    await admin.connect();
    try {
      await admin.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS false`);
      await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = $1 AND pid <> pg_backend_pid()`,
        [name],
      );
      await sleep(200);
      const res = await until(
        () => fetch(`${t.url}/readyz`),
        (r) => r.status === 503,
        10_000,
      );
      const body = (await res.json()) as any;
      assert.equal(body.status, 'not ready');
      assert.equal(body.database.ok, false);
      assert.ok(body.database.error);
      // A scrape still answers, without the database's gauges moving.
      assert.equal((await fetch(`${t.url}/metrics`)).status, 200);
    } finally {
      await admin.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS true`);
      await admin.end();
    }
    await until(
      () => fetch(`${t.url}/readyz`).then((r) => r.status),
      (s) => s === 200,
      10_000,
    );
  });
});

describe('operations: METRICS_TOKEN', () => {
  let t: TestServer;
  const token = 'metrics-token-0123456789';
  before(async () => {
    t = await startTestServer({ METRICS_TOKEN: token });
  });
  after(async () => {
    await t?.close();
  });

  it('refuses a scrape without the token (401) and serves one with it', async () => {
    assert.equal((await fetch(`${t.url}/metrics`)).status, 401);
    const wrong = await fetch(`${t.url}/metrics`, { headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 401);
    assert.match(await scrape(t.url, token), /stagewise_runs/);
  });
});
