/**
 * PostGraphile 4 as the API benchmark's reference: its HTTP handler on a plain Node server, over
 * DATABASE_URL's `public` schema (stagewise's own tables), with the options PostGraphile's
 * documentation recommends for production, except that the schema is not watched. Tells the
 * benchmark its URL over IPC once it listens.
 */
import './one-graphql';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { postgraphile } from 'postgraphile';

export interface Listening {
  listening: string;
}

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) throw new Error('postgraphile-server: DATABASE_URL is not set');

const handler = postgraphile(databaseUrl, 'public', {
  watchPg: false,
  retryOnInitFail: false,
  dynamicJson: true,
  setofFunctionsContainNulls: false,
  ignoreRBAC: false,
  extendedErrors: ['errcode'],
  graphiql: false,
  enableQueryBatching: true,
  disableQueryLog: true,
  legacyRelations: 'omit',
});

const server = http.createServer((req, res) => void handler(req, res));
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  const message: Listening = { listening: `http://127.0.0.1:${port}` };
  process.send?.(message);
});
