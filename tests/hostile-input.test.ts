import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createGzip, gzipSync } from 'node:zlib';
import type { DataSource } from 'typeorm';
import { createTestDatabase } from './helpers/test-server';
import { until } from './helpers/launchers';
import { startApi, type ApiProcess } from '../bench/reliability/api-process';
import { rawRequest, type RawAnswer } from './helpers/raw-http';
import { createAppDataSource } from '../src/app/data-source';
import { toGlobalId } from '../src/common/ids';
import { ApiKeyService } from '../src/modules/api-keys/api-key.service';
import { ApiKeyScope } from '../src/modules/api-keys/api-key.entity';

/** One line inflating past V8's largest string (about 512 MiB): readline used to die on it. */
const BOMB_BYTES = 600 * 1024 * 1024;

/** A gzip of one newline-free line of BOMB_BYTES, made in 1 MiB steps (under 1 MB of output). */
async function gzipBomb(): Promise<Buffer> {
  const gzip = createGzip({ level: 9 });
  const parts: Buffer[] = [];
  gzip.on('data', (c: Buffer) => parts.push(c));
  const done = new Promise((ok) => gzip.on('end', ok));
  const block = Buffer.alloc(1024 * 1024, 'a');
  gzip.write('{"externalId":"x","problem":"');
  for (let written = 0; written < BOMB_BYTES; written += block.length) {
    if (!gzip.write(block)) await new Promise((ok) => gzip.once('drain', ok));
  }
  gzip.end();
  await done;
  return Buffer.concat(parts);
}

/** A body cut into chunks of `size` bytes. */
function chunks(body: Buffer, size = 16 * 1024): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < body.length; at += size) out.push(body.subarray(at, at + size));
  return out;
}

function deepJson(levels: number): string {
  return '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
}

describe('hostile input never takes the API process down', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let dir: string;
  let logFile: string;
  let api: ApiProcess;
  let url: string;
  let ds: DataSource;
  let writeKey: string;
  let readKey: string;
  let runnerToken: string;
  let runId: string;

  before(async () => {
    db = await createTestDatabase();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stagewise-hostile-'));
    logFile = path.join(dir, 'api.log');
    api = await startApi({
      databaseUrl: db.url,
      logFile,
      runsDir: path.join(dir, 'runs'),
      env: { NODE_ENV: 'test', LOG_LEVEL: 'info', NDJSON_MAX_LINE_BYTES: String(1024 * 1024) },
    });
    url = api.url;
    ds = createAppDataSource(db.url, { poolSize: 2 });
    await ds.initialize();
    const keys = new ApiKeyService(ds);
    writeKey = (await keys.create({ name: 'hostile-write', scopes: [ApiKeyScope.WRITE] })).key;
    readKey = (await keys.create({ name: 'hostile-read', scopes: [ApiKeyScope.READ] })).key;
    await ds.query(`INSERT INTO datasets (name) VALUES ('target')`);
    const [run] = await ds.query<{ id: number }[]>(
      `INSERT INTO runs (stage, status) VALUES ('SFT', 'RUNNING') RETURNING id`,
    );
    runId = toGlobalId('Run', run.id);
    runnerToken = (
      await keys.create({ name: `runner-${run.id}`, scopes: [ApiKeyScope.RUNNER], runId: run.id })
    ).key;
  });

  after(async () => {
    await ds?.destroy();
    await api?.kill();
    await db?.drop();
    if (!process.env.KEEP_LOG) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The process is alive, /healthz answers, and the import wrote nothing. */
  async function assertStillServing(): Promise<void> {
    assert.ok(
      api.alive(),
      `the API process died; its log:\n${fs.readFileSync(logFile, 'utf8').slice(-3000)}`,
    );
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });
    const [{ n }] = await ds.query<{ n: number }[]>('SELECT count(*)::int AS n FROM samples');
    assert.equal(n, 0, 'a refused import wrote rows');
  }

  function importSamples(body: Buffer, headers: Record<string, string> = {}, abortAfter?: number) {
    return rawRequest(url, {
      path: '/v1/datasets/target/samples',
      headers: {
        'content-type': 'application/x-ndjson',
        authorization: `Bearer ${writeKey}`,
        ...headers,
      },
      chunks: chunks(body),
      abortAfterChunks: abortAfter,
    });
  }

  function assertRefused(a: RawAnswer, status: number, message: RegExp): void {
    assert.equal(a.status, status, JSON.stringify(a));
    if (a.status === undefined) return;
    assert.equal(a.json?.error?.code, 'BAD_USER_INPUT', a.text);
    assert.match(a.json.error.message, message);
  }

  it('refuses a gzip bomb (one line of 600 MiB in under 1 MB) with 413 naming line 1', async () => {
    const bomb = await gzipBomb();
    assert.ok(bomb.length < 1_000_000, `bomb is ${bomb.length} bytes`);
    const a = await importSamples(bomb, { 'content-encoding': 'gzip' });
    // The server answers after reading a few KB and closes the socket: a client still writing
    // may see the reset before the answer. Either way the process must live on.
    if (a.status !== undefined) assertRefused(a, 413, /line 1: longer than the limit/);
    await assertStillServing();
  });

  it('refuses a corrupt gzip body with 400', async () => {
    const good = gzipSync('{"externalId":"a","problem":"p","answer":"1"}\n');
    const corrupt = Buffer.concat([good.subarray(0, 10), Buffer.alloc(64, 0xee)]);
    assertRefused(await importSamples(corrupt, { 'content-encoding': 'gzip' }), 400, /gzip/);
    await assertStillServing();
  });

  it('refuses a truncated gzip body with 400 and writes nothing', async () => {
    const lines = Array.from(
      { length: 2000 },
      (_, i) => JSON.stringify({ externalId: `t${i}`, problem: `p${i}`, answer: String(i) }) + '\n',
    ).join('');
    const whole = gzipSync(lines);
    assertRefused(
      await importSamples(whole.subarray(0, whole.length - 20), { 'content-encoding': 'gzip' }),
      400,
      /gzip/,
    );
    await assertStillServing();
  });

  it('survives a client that disconnects mid-upload, writing nothing', async () => {
    const lines = Array.from(
      { length: 20_000 },
      (_, i) => JSON.stringify({ externalId: `c${i}`, problem: `q${i}`, answer: String(i) }) + '\n',
    ).join('');
    const a = await importSamples(Buffer.from(lines), {}, 10);
    assert.equal(a.status, undefined);
    // The server notices the reset on its own time: wait until no import is left in flight.
    await until(
      'the aborted import to end',
      async () =>
        (
          await ds.query<{ n: number }[]>(
            `SELECT count(*)::int AS n FROM pg_stat_activity
             WHERE datname = current_database() AND query ILIKE 'COPY stage_samples%' AND state <> 'idle'`,
          )
        )[0].n === 0,
      30_000,
      50,
    );
    await assertStillServing();
  });

  it('refuses invalid UTF-8 naming the line, instead of storing U+FFFD', async () => {
    const body = Buffer.concat([
      Buffer.from('{"externalId":"u1","problem":"fine","answer":"1"}\n'),
      Buffer.from('{"externalId":"u2","problem":"bad '),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from('","answer":"2"}\n'),
    ]);
    assertRefused(await importSamples(body), 400, /line 2: not valid UTF-8/);
    await assertStillServing();
  });

  it('refuses a line over NDJSON_MAX_LINE_BYTES with 413 naming it', async () => {
    const long = JSON.stringify({
      externalId: 'l',
      problem: 'x'.repeat(2 * 1024 * 1024),
      answer: '1',
    });
    const body = Buffer.from(`{"externalId":"ok","problem":"p","answer":"1"}\n\n${long}\n`);
    assertRefused(await importSamples(body), 413, /line 3: longer than the limit of 1048576 bytes/);
    await assertStillServing();
  });

  it('refuses JSON nested 100,000 levels deep as bad input naming the line', async () => {
    const body = Buffer.from(
      `{"externalId":"d","problem":"p","answer":"1","metadata":${deepJson(100_000)}}\n`,
    );
    assertRefused(
      await importSamples(body),
      400,
      /line 1: metadata\..*nested deeper than the limit/,
    );
    await assertStillServing();
  });

  it('refuses NUL and lone surrogates in NDJSON fields, naming line and field', async () => {
    const nul = Buffer.from('{"externalId":"n","problem":"a\\u0000b","answer":"1"}\n');
    const a = await importSamples(nul);
    assertRefused(a, 400, /line 1: problem: contains a NUL/);
    assert.equal(a.status === 400 && a.json.error.field, 'problem');
    const surrogate = Buffer.from(
      '{"externalId":"s","problem":"p","answer":"1","metadata":{"k":"\\ud800"}}\n',
    );
    assertRefused(await importSamples(surrogate), 400, /line 1: metadata\.k: contains a lone/);
    await assertStillServing();
  });

  it('answers broken runner event uploads with coded 4xx', async () => {
    const runner = (body: Buffer, headers: Record<string, string> = {}) =>
      rawRequest(url, {
        path: `/v1/runs/${runId}/events`,
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${runnerToken}`,
          ...headers,
        },
        chunks: [body],
      });
    const event = (payload: string) =>
      Buffer.from(`{"events":[{"seq":1,"type":"LOG","payload":${payload}}]}`);
    const good = gzipSync(event('{"line":"hello"}'));
    assertRefused(
      await runner(Buffer.concat([good.subarray(0, 12), Buffer.alloc(40, 0x11)]), {
        'content-encoding': 'gzip',
      }),
      400,
      /gzip/,
    );
    assertRefused(
      await runner(good.subarray(0, good.length - 8), { 'content-encoding': 'gzip' }),
      400,
      /gzip/,
    );
    assertRefused(
      await runner(event('{"line":"a\\u0000b"}')),
      400,
      /events\.0\.payload\.line: contains a NUL/,
    );
    assertRefused(await runner(event(deepJson(50_000))), 400, /nested deeper than the limit/);
    const invalidUtf8 = Buffer.concat([
      Buffer.from('{"events":[{"seq":1,"type":"LOG","payload":{"line":"'),
      Buffer.from([0xff, 0xc3]),
      Buffer.from('"}}]}'),
    ]);
    assertRefused(await runner(invalidUtf8), 400, /not valid UTF-8/);
    const checkpoint = await rawRequest(url, {
      path: `/v1/runs/${runId}/checkpoints`,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${runnerToken}` },
      chunks: [Buffer.from('{"name":"ck\\u0000","uri":"file:///x","baseModel":"tiny"}')],
    });
    assertRefused(checkpoint, 400, /body\.name: contains a NUL/);
    const [{ n }] = await ds.query<{ n: number }[]>('SELECT count(*)::int AS n FROM run_events');
    assert.equal(n, 0, 'a refused runner body wrote events');
    await assertStillServing();
  });

  it('answers a malformed path, an unknown charset and a NUL export filter with coded 4xx', async () => {
    const get = (p: string, headers: Record<string, string> = {}) =>
      rawRequest(url, {
        method: 'GET',
        path: p,
        headers: { authorization: `Bearer ${readKey}`, ...headers },
      });
    assertRefused(await get('/v1/datasets/%ff/samples'), 400, /percent-encoding/);
    assertRefused(await get('/v1/datasets/target/samples?problemContains=a%00b'), 400, /NUL/);
    assertRefused(
      await importSamples(Buffer.from('{"externalId":"k","problem":"p","answer":"1"}\n'), {
        'content-type': 'application/x-ndjson; charset=koi8-x',
      }),
      415,
      /charset "koi8-x" is not supported/,
    );
    const gql = await rawRequest(url, {
      path: '/graphql',
      headers: {
        'content-type': 'application/json; charset=koi8-x',
        authorization: `Bearer ${readKey}`,
      },
      chunks: [Buffer.from('{"query":"{ datasets { nodes { id } } }"}')],
    });
    assert.equal(gql.status, 415, JSON.stringify(gql));
    assert.equal(gql.status === 415 && gql.json.errors[0].extensions.code, 'BAD_USER_INPUT');
    await assertStillServing();
  });
});
