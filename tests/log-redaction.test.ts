import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { createTestDatabase } from './helpers/test-server';
import { until } from './helpers/launchers';
import { startApi, type ApiProcess } from '../bench/reliability/api-process';
import { createAppDataSource } from '../src/app/data-source';
import { toGlobalId } from '../src/common/ids';
import { ApiKeyService } from '../src/modules/api-keys/api-key.service';
import { ApiKeyScope } from '../src/modules/api-keys/api-key.entity';
import { Writable } from 'node:stream';
import { createApiLogger, redactHeaders, redactUrl } from '../src/app/log-redaction';

describe('the log keeps no secret in clear', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let dir: string;
  let logFile: string;
  let api: ApiProcess;
  let url: string;
  let ds: DataSource;
  /** Every secret the requests below send or receive, by what it is. */
  const secrets: Record<string, string> = {};

  before(async () => {
    db = await createTestDatabase();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stagewise-logs-'));
    logFile = path.join(dir, 'api.log');
    api = await startApi({
      databaseUrl: db.url,
      logFile,
      runsDir: path.join(dir, 'runs'),
      env: { NODE_ENV: 'test', LOG_LEVEL: 'trace' },
    });
    url = api.url;
    ds = createAppDataSource(db.url, { poolSize: 2 });
    await ds.initialize();
    const keys = new ApiKeyService(ds);
    secrets.adminKey = (await keys.create({ name: 'log-admin', scopes: [ApiKeyScope.ADMIN] })).key;
    secrets.readKey = (await keys.create({ name: 'log-read', scopes: [ApiKeyScope.READ] })).key;
    const [run] = await ds.query<{ id: number }[]>(
      `INSERT INTO runs (stage, status) VALUES ('SFT', 'RUNNING') RETURNING id`,
    );
    const runner = await keys.create({
      name: `runner-${run.id}`,
      scopes: [ApiKeyScope.RUNNER],
      runId: run.id,
    });
    secrets.runnerToken = runner.key;
    secrets.queryToken = 'sw_query_param_token_value_1234567890';
    secrets.hookUrlToken = 'hook-url-token-abcdef123456';

    const gql = (key: string, query: string, variables?: object) =>
      fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query, variables }),
      });
    // An API key as a bearer, on GraphQL and on the bulk endpoints, accepted and refused.
    assert.equal((await gql(secrets.readKey, '{ datasets { nodes { id } } }')).status, 200);
    await gql(
      secrets.readKey,
      'mutation { createDataset(input: { name: "x", split: TRAIN }) { id } }',
    );
    await fetch(`${url}/v1/datasets/none/samples`, {
      headers: { authorization: `Bearer ${secrets.adminKey}` },
    });
    // A runner token on its run's endpoints.
    const runPath = `${url}/v1/runs/${toGlobalId('Run', run.id)}`;
    await fetch(`${runPath}/spec`, { headers: { authorization: `Bearer ${secrets.runnerToken}` } });
    await fetch(`${runPath}/heartbeat`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${secrets.runnerToken}`,
        'content-type': 'application/json',
      },
      body: '{}',
    });
    // Keys in the query string, the way a browser's EventSource or a careless script sends them.
    await fetch(`${url}/graphql/stream?token=${secrets.queryToken}`);
    await fetch(`${url}/v1/datasets/none/samples?key=${secrets.queryToken}&limit=1`, {
      headers: { authorization: `Bearer ${secrets.adminKey}` },
    });
    await fetch(`${url}/healthz?TOKEN=${secrets.queryToken}`);
    // A webhook: its secret comes back in the answer once, its URL carries a token.
    const hook = await gql(
      secrets.adminKey,
      `mutation($url: String!) { createWebhook(input: { url: $url, events: [RUN_STATUS] }) { secret } }`,
      { url: `http://127.0.0.1:9/hook?token=${secrets.hookUrlToken}` },
    );
    const body = (await hook.json()) as { data: { createWebhook: { secret: string } } };
    secrets.webhookSecret = body.data.createWebhook.secret;
    // The log may lag the answers: a last request marks where the requests above end.
    await fetch(`${url}/healthz?marker=end-of-requests`);
    await until(
      'the request log',
      () => fs.readFileSync(logFile, 'utf8').includes('marker=end-of-requests'),
      10_000,
      50,
    );
  });

  after(async () => {
    await ds?.destroy();
    await api?.kill();
    await db?.drop();
    if (!process.env.KEEP_LOG) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('logged the requests (with their URLs and headers)', () => {
    const log = fs.readFileSync(logFile, 'utf8');
    assert.match(log, /"url":"\/v1\/runs\//);
    assert.match(log, /"authorization":"Bearer \[redacted\]"/);
    assert.match(log, /"url":"\/graphql\/stream\?token=\[redacted\]"/);
  });

  it('holds no API key, runner token, query-string token or webhook secret', () => {
    const log = fs.readFileSync(logFile, 'utf8');
    for (const [what, secret] of Object.entries(secrets)) {
      assert.ok(secret.length >= 16, what);
      assert.equal(log.includes(secret), false, `${what} is in the log in clear`);
      // Nor its distinctive tail, in case a prefix was cut off or the value re-encoded.
      assert.equal(log.includes(secret.slice(-12)), false, `${what}'s tail is in the log`);
    }
  });
});

describe('log redaction helpers', () => {
  it('blanks credential parameters in a URL, whatever their case, and keeps the others', () => {
    assert.equal(
      redactUrl('/x?limit=1&token=abc&Key=def&api_key=g&access-token=h#frag'),
      '/x?limit=1&token=[redacted]&Key=[redacted]&api_key=[redacted]&access-token=[redacted]#frag',
    );
    assert.equal(redactUrl('/plain/path'), '/plain/path');
  });

  it('keeps the scheme of an Authorization header and blanks its credential', () => {
    assert.deepEqual(
      redactHeaders({ Authorization: 'Bearer sw_secret', cookie: 'a=b', accept: '*/*' }),
      { Authorization: 'Bearer [redacted]', cookie: '[redacted]', accept: '*/*' },
    );
  });

  it("blanks a runner's token in a launcher's environment and a webhook secret in any log line", () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const log = createApiLogger('info', sink);
    log.info({ job: { env: { STAGEWISE_RUN_TOKEN: 'sw_runner_secret_1' } } }, 'launched');
    log.info({ env: { STAGEWISE_RUN_TOKEN: 'sw_runner_secret_2', PATH: '/bin' } }, 'launched');
    log.info({ webhook: { url: 'http://x', secret: 'whsec_3' } }, 'created');
    const all = lines.join('');
    for (const secret of ['sw_runner_secret_1', 'sw_runner_secret_2', 'whsec_3']) {
      assert.equal(all.includes(secret), false, secret);
    }
    assert.match(all, /"PATH":"\/bin"/);
  });
});
