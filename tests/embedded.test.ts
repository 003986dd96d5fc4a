import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../src/app/config';
import { startServer, type RunningServer } from '../src/app/server';
import { EmbeddedPostgresError } from '../src/common/db/embedded-postgres';
import { createTestDatabase } from './helpers/test-server';
import { freePort } from '../src/common/net';

const silent = pino({ level: 'silent' });

const tempDirs: string[] = [];
function freshDataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stagewise-embedded-test-'));
  tempDirs.push(dir);
  return dir;
}

/** The embedded default: no DATABASE_URL at all. */
function embeddedConfig(dataDir: string, pgPort: number, env: Record<string, string> = {}) {
  return loadConfig({
    STAGEWISE_DATA_DIR: dataDir,
    EMBEDDED_PG_PORT: String(pgPort),
    PORT: '0',
    LOG_LEVEL: 'silent',
    ...env,
  });
}

async function gql(server: RunningServer, query: string, key?: string) {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(key ? { authorization: `Bearer ${key}` } : {}),
    },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, ...((await res.json()) as { data?: any; errors?: any[] }) };
}

describe('embedded PostgreSQL default', () => {
  const running: RunningServer[] = [];
  after(async () => {
    for (const s of running) await s.close().catch(() => undefined);
    for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('uses the embedded default only without DATABASE_URL', () => {
    assert.equal(embeddedConfig('/tmp/x', 5555).usesEmbeddedPostgres, true);
    assert.equal(
      loadConfig({ DATABASE_URL: 'postgres://u@127.0.0.1:5432/db' }).usesEmbeddedPostgres,
      false,
    );
  });

  it('makes a working ADMIN key at first start, none at the next, and keeps the data', async () => {
    const dataDir = freshDataDir();
    const pgPort = await freePort();

    const first = await startServer(embeddedConfig(dataDir, pgPort), { logger: silent });
    running.push(first);
    const key = first.bootstrapKey;
    assert.ok(key, 'a key is made on an empty embedded database');
    assert.match(key, /^sw_/);
    assert.equal(await first.services.apiKeys.count(), 1);
    const rows: { name: string; scopes: string[]; hash: string }[] = await first.ds.query(
      `SELECT name, scopes, hash FROM api_keys`,
    );
    assert.deepEqual(rows[0].scopes, ['ADMIN']);
    assert.notEqual(rows[0].hash, key, 'stored as a hash');

    const created = await gql(
      first,
      `mutation { createDataset(input: { name: "survivor", description: "kept" }) { id } }`,
      key,
    );
    assert.equal(created.errors, undefined, JSON.stringify(created.errors));
    const admin = await gql(first, `{ apiKeys { totalCount } }`, key);
    assert.equal(admin.data.apiKeys.totalCount, 1, 'the key is ADMIN');
    await first.close();
    running.pop();

    const second = await startServer(embeddedConfig(dataDir, pgPort), { logger: silent });
    running.push(second);
    assert.equal(second.bootstrapKey, undefined, 'no second key once one exists');
    assert.equal(await second.services.apiKeys.count(), 1);
    const listed = await gql(second, `{ datasets { nodes { id name description } } }`, key);
    assert.equal(listed.errors, undefined, 'the first key still works after a restart');
    assert.deepEqual(listed.data.datasets.nodes, [
      { id: created.data.createDataset.id, name: 'survivor', description: 'kept' },
    ]);
    await second.close();
    running.pop();
  });

  it('makes no key in production', async () => {
    const server = await startServer(
      embeddedConfig(freshDataDir(), await freePort(), { NODE_ENV: 'production' }),
      { logger: silent },
    );
    running.push(server);
    assert.equal(server.bootstrapKey, undefined);
    assert.equal(await server.services.apiKeys.count(), 0);
    await server.close();
    running.pop();
  });

  it('makes no key when BOOTSTRAP_ADMIN_KEY=false', async () => {
    const server = await startServer(
      embeddedConfig(freshDataDir(), await freePort(), { BOOTSTRAP_ADMIN_KEY: 'false' }),
      { logger: silent },
    );
    running.push(server);
    assert.equal(server.bootstrapKey, undefined);
    assert.equal(await server.services.apiKeys.count(), 0);
    await server.close();
    running.pop();
  });

  it('makes no key on a DATABASE_URL, even an empty one', async () => {
    const db = await createTestDatabase();
    try {
      const server = await startServer(
        loadConfig({ DATABASE_URL: db.url, PORT: '0', NODE_ENV: 'development' }),
        { logger: silent },
      );
      try {
        assert.equal(server.bootstrapKey, undefined);
        assert.equal(await server.services.apiKeys.count(), 0);
      } finally {
        await server.close();
      }
    } finally {
      await db.drop();
    }
  });

  it('refuses a taken EMBEDDED_PG_PORT at once, naming the port', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const started = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const hang = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('startServer hung')), 15_000);
      });
      try {
        await assert.rejects(
          Promise.race([
            startServer(embeddedConfig(freshDataDir(), port), { logger: silent }),
            hang,
          ]),
          (err: unknown) => {
            assert.ok(err instanceof EmbeddedPostgresError, String(err));
            assert.match(err.message, new RegExp(`\\b${port}\\b`));
            assert.match(err.message, /EMBEDDED_PG_PORT/);
            return true;
          },
        );
      } finally {
        clearTimeout(timer);
      }
      assert.ok(Date.now() - started < 15_000);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});
