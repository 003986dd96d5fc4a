/**
 * Runs the test files with node's test runner against a PostgreSQL: TEST_DATABASE_URL when set,
 * otherwise a throwaway embedded server. Each test file creates and drops its own database.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { startEmbeddedPostgres } from '../src/common/db/embedded-postgres';
import { freePort } from '../src/common/net';

function testFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory()
        ? testFiles(path.join(dir, e.name))
        : e.name.endsWith('.test.js')
          ? [path.join(dir, e.name)]
          : [],
    )
    .sort();
}

async function main(): Promise<number> {
  const filter = process.argv.slice(2);
  const all = testFiles(path.join(__dirname, '..', 'tests'));
  const files = filter.length ? all.filter((f) => filter.some((x) => f.includes(x))) : all;
  let stop = () => Promise.resolve();
  const env = { ...process.env };
  if (!env.TEST_DATABASE_URL) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stagewise-test-'));
    const pg = await startEmbeddedPostgres({ dataDir, port: await freePort() });
    env.TEST_DATABASE_URL = pg.url;
    stop = async () => {
      await pg.stop();
      // As root the data may live elsewhere than asked (resolveDataDir): remove both.
      fs.rmSync(pg.dataDir, { recursive: true, force: true });
      fs.rmSync(dataDir, { recursive: true, force: true });
    };
    console.log(`# tests on an embedded PostgreSQL (no TEST_DATABASE_URL given)`);
  }
  try {
    const child = spawn(
      process.execPath,
      [
        '--test',
        '--test-concurrency=2',
        '--test-reporter=spec',
        // A hung test fails after 10 minutes instead of holding CI; a file whose tests are done
        // exits even if a handle (a socket, a child's pipe) was left open.
        '--test-timeout=600000',
        '--test-force-exit',
        ...files,
      ],
      { stdio: 'inherit', env },
    );
    return await new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
  } finally {
    await stop();
    removeOnnxTelemetryFiles();
  }
}

/**
 * onnxruntime's native library (loaded by the tests that score traces) writes telemetry files
 * into the temp dir of each process that loads it: `.ses` and `mat-debug-PID.log`. Once every
 * test process has ended they are removed by name, so `npm test` leaves the temp dir as it was
 * (scripts/machine-check.ts reports anything else).
 */
function removeOnnxTelemetryFiles() {
  const tmp = os.tmpdir();
  for (const name of fs.readdirSync(tmp)) {
    if (name === '.ses' || /^mat-debug-\d+\.log$/.test(name)) {
      fs.rmSync(path.join(tmp, name), { force: true });
    }
  }
}

main()
  .then((code) => process.exit(code))
  .catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
