/**
 * API keys are cached per process, and a revoke still takes effect at once: in the process that
 * revoked the key, and in another process on the same database, told through the announcement
 * bus (Postgres NOTIFY or Redis). The cache's TTL is set to 10 minutes here, so a refusal seen
 * within the test can only come from the invalidation, never from expiry.
 *
 * The other process hears the announcement on its own connection, so a request sent to it the
 * instant the revoke returns can still race the announcement on the wire: the cross-process tests
 * wait for the refusal (seconds at most, against a TTL of minutes) instead of asserting that
 * the very next request loses the race.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { loadConfig } from '../src/app/config';
import { startServer, type RunningServer } from '../src/app/server';
import { ApiKeyScope } from '../src/modules/api-keys/api-key.entity';
import { toGlobalId } from '../src/common/ids';
import { startTestServer, type TestServer } from './helpers/test-server';
import { insertRun } from './helpers/seed';
import { waitFor } from './helpers/runs';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const TEN_MINUTES_MS = '600000';

/** The HTTP status of the cheapest authenticated request: 200 when the key is accepted. */
async function statusWith(url: string, key: string): Promise<number> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: '{ __typename }' }),
  });
  await res.arrayBuffer();
  return res.status;
}

/** Waits for `url` to refuse `key`: the announcement travels, the 10-minute TTL does not run out. */
async function refusedBy(url: string, key: string): Promise<void> {
  await waitFor(
    'the other process to refuse the revoked key',
    async () => {
      return (await statusWith(url, key)) === 401;
    },
    30_000,
  );
}

for (const backend of ['postgres', 'redis'] as const) {
  describe(`API key cache across two API processes (${backend})`, () => {
    let a: TestServer;
    let b: RunningServer;
    const env: Record<string, string> = {
      API_KEY_CACHE_TTL_MS: TEN_MINUTES_MS,
      ...(backend === 'redis' ? { REDIS_URL } : {}),
    };
    const newKey = async (scopes = [ApiKeyScope.READ], runId: number | null = null) =>
      a.server.services.apiKeys.create({
        name: `k-${randomBytes(3).toString('hex')}`,
        scopes,
        runId,
      });
    const revokeThroughA = async (id: number) => {
      const res = await a.gql(`mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }`, {
        id: toGlobalId('ApiKey', id),
      });
      assert.equal(res.errors, undefined);
    };

    before(async () => {
      a = await startTestServer(env);
      const config = loadConfig({
        NODE_ENV: 'test',
        DATABASE_URL: (a.server.ds.options as { url: string }).url,
        PORT: '0',
        LOG_LEVEL: 'silent',
        CURRICULUM_TICK_MS: '0',
        ...env,
      });
      b = await startServer(config, { logger: pino({ level: 'silent' }) });
    });
    after(async () => {
      await b.close();
      await a.close();
    });

    it('a valid key costs no statement from its second request on', async () => {
      const { key } = await newKey();
      a.counter.count = 0;
      assert.equal(await statusWith(a.url, key), 200);
      assert.ok(a.counter.count >= 1, 'the first request looks the key up');
      a.counter.count = 0;
      assert.equal(await statusWith(a.url, key), 200);
      assert.equal(a.counter.count, 0, 'the second request is answered from the cache');
    });

    it('an unknown key is looked up every time: refusals are not cached', async () => {
      const unknown = `sw_${randomBytes(24).toString('base64url')}`;
      for (let i = 0; i < 2; i += 1) {
        a.counter.count = 0;
        assert.equal(await statusWith(a.url, unknown), 401);
        assert.equal(a.counter.count, 1, `request ${i + 1} looks the key up`);
      }
    });

    it('a revoked key is refused by the same process on the very next request', async () => {
      const { key, apiKey } = await newKey();
      assert.equal(await statusWith(a.url, key), 200);
      assert.equal(await statusWith(a.url, key), 200, 'cached now');
      await revokeThroughA(apiKey.id);
      assert.equal(await statusWith(a.url, key), 401);
    });

    it('a key revoked through one process is refused by the other as soon as it hears', async () => {
      const { key, apiKey } = await newKey([ApiKeyScope.WRITE]);
      assert.equal(await statusWith(b.url, key), 200);
      assert.equal(await statusWith(b.url, key), 200, 'cached in B now');
      await revokeThroughA(apiKey.id);
      await refusedBy(b.url, key);
    });

    it("a run's runner key, revoked when the run ends, is refused by the other process", async () => {
      const run = await insertRun(a, { stage: 'SFT', status: 'RUNNING' });
      const { key } = await newKey([ApiKeyScope.RUNNER], Number(run.pk));
      assert.notEqual(await statusWith(b.url, key), 401, 'B knows the runner key');
      await a.server.services.apiKeys.revokeRunKeys(Number(run.pk));
      await refusedBy(b.url, key);
    });

    if (backend === 'postgres') {
      it('after its listener reconnected, a process trusts no cached key', async () => {
        const { key, apiKey } = await newKey();
        assert.equal(await statusWith(b.url, key), 200);
        // Revoked behind the API's back: no announcement, like one lost while B's listener was down.
        await a.server.ds.query(`UPDATE api_keys SET revoked_at = now() WHERE id = $1`, [
          apiKey.id,
        ]);
        assert.equal(await statusWith(b.url, key), 200, 'B still trusts its cache (the TTL)');
        const database = new URL((a.server.ds.options as { url: string }).url).pathname.slice(1);
        await a.server.ds.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = $1 AND application_name = 'stagewise-listen'`,
          [database],
        );
        await waitFor(
          'B to re-read the key after its listener came back',
          async () => {
            return (await statusWith(b.url, key)) === 401;
          },
          15_000,
        );
      });
    }
  });
}
