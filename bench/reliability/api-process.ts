/**
 * The API under test as a real process: `node dist/src/main.js` (what `npm start` runs) in a
 * child process on its own database, its log in a file, with keys of every scope. A fault check
 * kills it (SIGKILL) or pulls its database away; a crash shows up as the process gone.
 */
import 'reflect-metadata';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { createAppDataSource } from '../../src/app/data-source';
import { ApiKeyService } from '../../src/modules/api-keys/api-key.service';
import { ApiKeyScope } from '../../src/modules/api-keys/api-key.entity';
import { toGlobalId } from '../../src/common/ids';
import { SERVER_NODE_FLAGS } from '../../src/app/server-node-flags';

/** The compiled entry point: dist/bench/reliability -> dist/src/main.js. */
const MAIN = path.join(__dirname, '..', '..', 'src', 'main.js');

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value other than undefined, failing after `ms`. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  ms = 60_000,
  every = 100,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(every);
  }
}

/** A fresh database on an admin URL, and how to drop it. */
export async function createDatabase(
  adminUrl: string,
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `sw_rel_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export interface ApiProcess {
  url: string;
  pid: number;
  child: ChildProcess;
  /** Resolves with the exit code or signal once the process is gone. */
  exited: Promise<string>;
  alive(): boolean;
  /** Resident memory in bytes, from /proc (0 once gone). */
  rss(): number;
  kill(signal?: NodeJS.Signals): Promise<string>;
}

/**
 * Starts `main.js` on `databaseUrl`, appending stdout and stderr to `logFile`, and waits until it
 * prints its URL. Run tokens and run folders go under `runsDir`.
 */
export async function startApi(opts: {
  databaseUrl: string;
  logFile: string;
  runsDir: string;
  env?: Record<string, string>;
  /** Node options before the entry point (e.g. `--require` a probe). */
  nodeArgs?: string[];
}): Promise<ApiProcess> {
  const start = fs.existsSync(opts.logFile) ? fs.statSync(opts.logFile).size : 0;
  const out = fs.openSync(opts.logFile, 'a');
  // The API's own flags as `npm start` passes them; then the caller's (later ones win).
  const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, ...(opts.nodeArgs ?? []), MAIN], {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      DATABASE_URL: opts.databaseUrl,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      CURRICULUM_TICK_MS: '0',
      RUNS_DIR: opts.runsDir,
      // Fuzzed mutations must not start real training: a run that gets this far fails at once.
      RUNNER_PYTHON: '/bin/false',
      ...opts.env,
    },
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  let exitedWith: string | undefined;
  const exited = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => {
      exitedWith = signal ?? String(code);
      resolve(exitedWith);
    }),
  );
  const url = await waitFor(
    'the API to print its URL',
    () => {
      if (exitedWith !== undefined) throw new Error(`the API exited (${exitedWith}) on start`);
      const text = fs.readFileSync(opts.logFile, 'utf8').slice(start);
      return /stagewise API\s+(http:\/\/\S+)\/graphql/.exec(text)?.[1];
    },
    120_000,
  );
  const pid = child.pid!;
  return {
    url,
    pid,
    child,
    exited,
    alive: () => exitedWith === undefined,
    rss() {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
        return m ? Number(m[1]) * 1024 : 0;
      } catch {
        return 0;
      }
    },
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (exitedWith === undefined) child.kill(signal);
      return exited;
    },
  };
}

export interface Keys {
  read: string;
  write: string;
  admin: string;
}

export interface RunnerStandIn {
  /** The run's global id, as in its endpoint paths. */
  runId: string;
  pk: number;
  token: string;
}

/**
 * Direct access to the API's database for setting up and checking: keys are made the way
 * `npm run keys` makes them, runs as the tests insert them.
 */
export class Database {
  readonly keysMade: string[] = [];
  private constructor(
    readonly ds: DataSource,
    private readonly apiKeys: ApiKeyService,
  ) {}

  static async open(url: string): Promise<Database> {
    const ds = createAppDataSource(url, { poolSize: 2 });
    await ds.initialize();
    return new Database(ds, new ApiKeyService(ds));
  }

  async key(name: string, scopes: ApiKeyScope[], runId?: number): Promise<string> {
    const { key } = await this.apiKeys.create({ name, scopes, runId });
    this.keysMade.push(key);
    return key;
  }

  async keys(): Promise<Keys> {
    return {
      read: await this.key(`rel-read-${this.keysMade.length}`, [ApiKeyScope.READ]),
      write: await this.key(`rel-write-${this.keysMade.length}`, [ApiKeyScope.WRITE]),
      admin: await this.key(`rel-admin-${this.keysMade.length}`, [ApiKeyScope.ADMIN]),
    };
  }

  /**
   * A RUNNING run and a RUNNER token for it: what a launcher hands a runner. The reliability
   * checks post its events through the real runner endpoints (a runner stand-in).
   */
  async runnerRun(): Promise<RunnerStandIn> {
    const [run] = await this.ds.query<{ id: number }[]>(
      `INSERT INTO runs (stage, status) VALUES ('SFT', 'RUNNING') RETURNING id`,
    );
    const token = await this.key(`runner-${run.id}`, [ApiKeyScope.RUNNER], run.id);
    return { runId: toGlobalId('Run', run.id), pk: run.id, token };
  }

  /** The runner-reported seqs stored for a run, in order (duplicates would show twice). */
  async runnerSeqs(pk: number): Promise<number[]> {
    const rows = await this.ds.query<{ runner_seq: number }[]>(
      `SELECT runner_seq FROM run_events WHERE run_id = $1 AND runner_seq IS NOT NULL
       ORDER BY runner_seq`,
      [pk],
    );
    return rows.map((r) => Number(r.runner_seq));
  }

  close(): Promise<void> {
    return this.ds.destroy();
  }
}
