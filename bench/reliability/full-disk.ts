/**
 * The full-disk check: the API's runs folder on a small tmpfs of its own, filled to the last
 * block, then a real run started: it must FAIL with a reason naming the full disk while the API
 * stays up. Mounting needs root; elsewhere the check says why it did not run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { PYTHON, RUNNER_DIR } from '../../tests/helpers/runs';
import { fillBlocks } from '../../tests/helpers/fill-disk';
import { Database, startApi } from './api-process';
import type { ApiPlace } from './faults';
import { loadBuiltinTask, runShortSft } from './task';

export interface FullDiskOutcome {
  skipped?: string;
  runStatus: string;
  runError: string | null;
  healthAfter: number;
  apiAlive: boolean;
}

export async function fullDisk(
  place: ApiPlace,
  log: (line: string) => void,
): Promise<FullDiskOutcome> {
  const runsDir = path.join(place.runsDir, 'tiny');
  fs.mkdirSync(runsDir, { recursive: true });
  const mounted =
    process.getuid?.() === 0
      ? spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=0700', 'tmpfs', runsDir], {
          encoding: 'utf8',
        })
      : undefined;
  if (!mounted || mounted.status !== 0) {
    const why = mounted
      ? `cannot mount a tmpfs: ${(mounted.stderr || '').trim()}`
      : 'needs root to mount a tmpfs';
    return { skipped: why, runStatus: '-', runError: null, healthAfter: 0, apiAlive: true };
  }
  const api = await startApi({ ...place, runsDir, env: { RUNNER_PYTHON: PYTHON, RUNNER_DIR } });
  const db = await Database.open(place.databaseUrl);
  try {
    const keys = await db.keys();
    await loadBuiltinTask(api.url, keys.admin, 'full-disk', 32);
    fillBlocks(path.join(runsDir, 'ballast'));
    log('full-disk: runs folder full, starting a run');
    const run = await runShortSft(api.url, keys.write);
    const healthAfter = await fetch(`${api.url}/healthz`)
      .then((r) => r.status)
      .catch(() => 0);
    return { runStatus: run.status, runError: run.error, healthAfter, apiAlive: api.alive() };
  } finally {
    await api.kill();
    await db.close();
    spawnSync('umount', ['-l', runsDir]);
  }
}
