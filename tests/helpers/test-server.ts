import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import pino, { type Logger } from 'pino';
import { loadConfig } from '../../src/app/config';
import { startServer, type RunningServer } from '../../src/app/server';
import { StatementCounter } from '../../src/common/db/data-source';
import { ApiKeyScope } from '../../src/modules/api-keys/api-key.entity';

/** The server every test file starts: its own fresh database on the test PostgreSQL. */
export interface TestServer {
  server: RunningServer;
  url: string;
  counter: StatementCounter;
  keys: { read: string; write: string; admin: string };
  /** POSTs a GraphQL operation with a key (the admin key by default). */
  gql<T = any>(
    query: string,
    variables?: Record<string, unknown>,
    key?: string | null,
  ): Promise<GqlResult<T>>;
  close(): Promise<void>;
}

export interface GqlResult<T> {
  status: number;
  data?: T;
  errors?: { message: string; extensions: { code: string; [k: string]: unknown } }[];
}

export function adminDatabaseUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set: run the tests with npm test');
  return url;
}

/** Creates an empty database for one test file and returns its URL. */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = adminDatabaseUrl();
  const name = `sw_test_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export async function startTestServer(
  env: Record<string, string> = {},
  /** The API's logger (default: silent, or TEST_LOG_LEVEL). */
  logger?: Logger,
): Promise<TestServer> {
  const db = await createTestDatabase();
  const counter = new StatementCounter();
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    PORT: '0',
    LOG_LEVEL: 'silent',
    // Curricula advance only when a test asks (its polling would add statements to counts).
    CURRICULUM_TICK_MS: '0',
    ...env,
  });
  const server = await startServer(config, {
    counter,
    logger: logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
  });
  const mk = async (name: string, scope: ApiKeyScope) =>
    (await server.services.apiKeys.create({ name, scopes: [scope] })).key;
  const keys = {
    read: await mk('test-read', ApiKeyScope.READ),
    write: await mk('test-write', ApiKeyScope.WRITE),
    admin: await mk('test-admin', ApiKeyScope.ADMIN),
  };
  const gql = async <T>(
    query: string,
    variables?: Record<string, unknown>,
    key: string | null = keys.admin,
  ) => {
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(key ? { authorization: `Bearer ${key}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as GqlResult<T>;
    return { ...body, status: res.status };
  };
  return {
    server,
    url: server.url,
    counter,
    keys,
    gql,
    async close() {
      await server.close();
      await db.drop();
    },
  };
}
