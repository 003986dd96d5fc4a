/**
 * The secrets check: a full run on the local launcher (the real runner), a webhook delivered,
 * a runner stand-in reporting, and requests of every kind with keys of every scope (in headers
 * and in query strings); then the API log, the run folders and the launcher scripts are scanned
 * for every key, runner token and webhook secret in clear. Tokens the suite never saw (the real
 * run's) are caught by shape: any `sw_...` string whose hash is a stored key's.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { hashKey } from '../../src/modules/api-keys/api-key.service';
import { PYTHON, RUNNER_DIR } from '../../tests/helpers/runs';
import { loadBuiltinTask, runShortSft } from './task';
import { Database, startApi, waitFor } from './api-process';
import type { ApiPlace } from './faults';
import { RunnerStandIn } from './runner-stand-in';

export interface SecretsOutcome {
  runStatus: string;
  webhookDeliveries: number;
  filesScanned: number;
  secretsKnown: number;
  /** `kind in file` for every secret found in clear (the promise: none). */
  found: string[];
  /** Files readable by the owner only, holding a token on purpose (not counted as a leak). */
  privateTokenFiles: number;
}

/**
 * Every secret in clear in `files`: the `known` ones by value, and any `sw_` token whose hash is
 * in `storedHashes`. Files only their owner can read (token files) are counted apart, except
 * the log.
 */
export function scanForSecrets(
  files: string[],
  known: [string, string][],
  storedHashes: Set<string>,
  logFile: string,
): { found: string[]; privateTokenFiles: number } {
  const found: string[] = [];
  let privateTokenFiles = 0;
  for (const file of files) {
    const text = fs.readFileSync(file, 'latin1');
    const hits = new Set<string>();
    for (const [kind, value] of known) if (text.includes(value)) hits.add(kind);
    for (const m of text.matchAll(/sw_[A-Za-z0-9_-]{32}/g)) {
      if (storedHashes.has(hashKey(m[0]))) hits.add('key or runner token');
    }
    if (!hits.size) continue;
    if ((fs.statSync(file).mode & 0o077) === 0 && file !== logFile) {
      privateTokenFiles++;
      continue;
    }
    for (const kind of hits)
      found.push(`${kind} in ${path.basename(path.dirname(file))}/${path.basename(file)}`);
  }
  return { found, privateTokenFiles };
}

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(p) : e.isFile() ? [p] : [];
  });
}

export async function secretsScan(
  place: ApiPlace,
  log: (line: string) => void,
): Promise<SecretsOutcome> {
  const deliveries: string[] = [];
  const receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      deliveries.push(body);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  const hookPort = (receiver.address() as AddressInfo).port;
  const api = await startApi({
    ...place,
    env: {
      RUNNER_PYTHON: PYTHON,
      RUNNER_DIR,
      LOG_LEVEL: 'trace',
      WEBHOOK_RETRY_DELAY_SECONDS: '1',
    },
  });
  const db = await Database.open(place.databaseUrl);
  const secrets: Record<string, string> = {};
  let runStatus = 'not started';
  try {
    const keys = await db.keys();
    Object.assign(secrets, { readKey: keys.read, writeKey: keys.write, adminKey: keys.admin });
    const gql = async (key: string, query: string, variables: object = {}) => {
      const res = await fetch(`${api.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query, variables }),
      });
      return (await res.json()) as { data?: any; errors?: unknown[] };
    };
    secrets.hookUrlToken = 'hook-url-token-0123456789abcdef';
    const hook = await gql(
      keys.admin,
      'mutation($url: String!) { createWebhook(input: { url: $url, events: [RUN_STATUS] }) { secret } }',
      {
        url: `http://127.0.0.1:${hookPort}/hook?token=${secrets.hookUrlToken}`,
      },
    );
    secrets.webhookSecret = hook.data?.createWebhook?.secret as string;
    if (!secrets.webhookSecret) throw new Error(`createWebhook: ${JSON.stringify(hook.errors)}`);

    // A full run: the built-in task, a short SFT on the local launcher with the real runner.
    await loadBuiltinTask(api.url, keys.admin, 'secrets', 64);
    const run = await runShortSft(api.url, keys.write);
    runStatus = run.status;
    log(`secrets: run ${run.id} ${run.status}`);
    await waitFor('a webhook delivery', () => (deliveries.length ? true : undefined), 60_000).catch(
      () => undefined,
    );

    // A runner stand-in with a token we know, and keys in every place a client puts them.
    const standIn = new RunnerStandIn(() => api.url, await db.runnerRun());
    secrets.standInToken = standIn.run.token;
    standIn.emit('LOG', { line: 'hello' });
    standIn.finish();
    await standIn.flushWithin(10_000);
    await fetch(`${api.url}/v1/runs/${standIn.run.runId}/spec?token=${standIn.run.token}`, {
      headers: { authorization: `Bearer ${standIn.run.token}` },
    });
    for (const key of [keys.read, keys.write, keys.admin]) {
      await gql(key, '{ datasets { nodes { name } } }');
      await fetch(`${api.url}/v1/datasets/secrets/samples?key=${key}`, {
        headers: { authorization: `Bearer ${key}` },
      }).then((r) => r.text());
      await fetch(`${api.url}/graphql/stream?token=${key}`).catch(() => undefined);
    }
  } finally {
    await api.kill('SIGTERM');
    receiver.close();
  }

  // The scan: the API log, everything under the runs folder (run folders, launcher scripts).
  const files = [place.logFile, ...filesUnder(place.runsDir)];
  const storedHashes = new Set(
    (await db.ds.query<{ hash: string }[]>('SELECT hash FROM api_keys')).map((r) => r.hash),
  );
  await db.close();
  const known = Object.entries(secrets).filter(([, v]) => v);
  for (const k of db.keysMade) if (!known.some(([, v]) => v === k)) known.push(['apiKey', k]);
  const { found, privateTokenFiles } = scanForSecrets(files, known, storedHashes, place.logFile);
  return {
    runStatus,
    webhookDeliveries: deliveries.length,
    filesScanned: files.length,
    secretsKnown: known.length,
    found,
    privateTokenFiles,
  };
}
