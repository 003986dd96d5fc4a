/**
 * `npm run test:reliability`: the fuzz, load, fault and secrets checks against real API
 * processes on an embedded PostgreSQL this suite starts (and restarts) itself. Prints one table
 * and, last, a machine-readable verdict; exits 1 when a promise breaks.
 *
 *   node dist/bench/reliability/main.js [--fuzz 10000] [--clients 200] [--seconds 60] [--think-ms 1000]
 *     [--import-lines 1000000] [--seed 1] [--client-processes 2] [--only fuzz,load,pg-restart,sigkill-import,redis,full-disk,secrets]
 */
import 'reflect-metadata';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  startEmbeddedPostgres,
  type EmbeddedPostgresHandle,
} from '../../src/common/db/embedded-postgres';
import { freePort } from '../../src/common/net';
import { formatTable, verdictLine, type CheckRow } from './report';
import { CHECKS, type CheckName, type SuiteArgs, type SuiteContext } from './checks';

interface Args extends SuiteArgs {
  only: CheckName[];
}

const USAGE =
  'reliability [--fuzz N] [--clients N] [--seconds N] [--think-ms N] [--import-lines N] [--seed N] [--client-processes N] [--only a,b]';

function parseArgs(argv: string[]): Args {
  const args: Args = {
    fuzz: 10_000,
    clients: 200,
    seconds: 60,
    thinkMs: 1000,
    importLines: 1_000_000,
    seed: 1,
    clientProcesses: 2,
    only: Object.keys(CHECKS) as CheckName[],
  };
  const numeric: Record<string, keyof Omit<Args, 'only'>> = {
    '--fuzz': 'fuzz',
    '--clients': 'clients',
    '--seconds': 'seconds',
    '--think-ms': 'thinkMs',
    '--import-lines': 'importLines',
    '--seed': 'seed',
    '--client-processes': 'clientProcesses',
  };
  for (let k = 0; k < argv.length; k += 2) {
    const value = argv[k + 1];
    if (argv[k] === '--only') {
      const names = (value ?? '').split(',');
      const unknown = names.filter((n) => !(n in CHECKS));
      if (unknown.length) throw new Error(`usage: ${USAGE} (unknown check ${unknown.join(', ')})`);
      args.only = names as CheckName[];
      continue;
    }
    const name = numeric[argv[k]];
    const n = Number(value);
    // Pauses may be 0 (a closed loop), client processes 0 (clients in this process); every
    // other figure must be positive.
    const least = name === 'thinkMs' || name === 'clientProcesses' ? 0 : 1;
    if (!name || !Number.isInteger(n) || n < least)
      throw new Error(`usage: ${USAGE} (got ${argv[k]})`);
    args[name] = n;
  }
  return args;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stagewise-reliability-'));
  // Our own PostgreSQL, so the fault checks may stop and start it under a running API.
  const pgPort = await freePort();
  const pgDir = path.join(workDir, 'pg');
  let pg: EmbeddedPostgresHandle = await startEmbeddedPostgres({ dataDir: pgDir, port: pgPort });
  const ctx: SuiteContext = {
    args,
    workDir,
    adminUrl: pg.url,
    schemaFile: path.join(__dirname, '..', '..', '..', 'schema.graphql'),
    log: (line) => process.stderr.write(`# ${line}\n`),
    stopPostgres: () => pg.stop(),
    async startPostgres() {
      pg = await startEmbeddedPostgres({ dataDir: pgDir, port: pgPort });
    },
  };
  const rows: CheckRow[] = [];
  try {
    for (const name of args.only) {
      ctx.log(`${name}...`);
      const started = Date.now();
      let row: CheckRow;
      try {
        row = await CHECKS[name](ctx);
      } catch (err) {
        ctx.log(`${name} stopped: ${(err as Error).stack ?? String(err)}`);
        row = {
          check: name,
          load: '-',
          faults: '-',
          badInputs: 0,
          lostOrDuplicated: null,
          ok: false,
          notes: [`the check itself failed: ${(err as Error).message}`],
        };
      }
      ctx.log(
        `${name}: ${row.ok ? 'pass' : 'FAIL'} in ${((Date.now() - started) / 1000).toFixed(0)} s`,
      );
      for (const note of row.notes) ctx.log(`  ${note}`);
      rows.push(row);
    }
  } finally {
    await pg.stop().catch(() => undefined);
    // As root the data may live elsewhere than asked (resolveDataDir maps a folder the postgres
    // user cannot reach to one under the temp dir): that copy goes whatever the verdict.
    if (pg.dataDir !== pgDir) fs.rmSync(pg.dataDir, { recursive: true, force: true });
    // The API logs of a failed check are the first thing to read.
    if (rows.every((r) => r.ok)) fs.rmSync(workDir, { recursive: true, force: true });
    else ctx.log(`logs kept in ${workDir}/<check>/api.log`);
  }
  process.stdout.write(`${formatTable(rows)}\n${verdictLine(rows)}\n`);
  return rows.every((r) => r.ok) ? 0 : 1;
}

main()
  .then((code) => process.exit(code))
  .catch((err: unknown) => {
    console.error(err);
    process.exit(2);
  });
