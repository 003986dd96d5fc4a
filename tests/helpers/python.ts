/**
 * Running Debian's python3 (pytest, jupyter nbconvert) from a test while the test's own server
 * keeps serving: asynchronously, with the output captured and a time limit.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './processes';
import { tempDir, removeTempDir } from './temp';

/** The Python client's folder (clients/python of this repository), for PYTHONPATH. */
export const CLIENT_DIR = path.join(repoRoot(), 'clients', 'python');

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/**
 * Runs a command to its end (killing its process group after `ms`), stdout and stderr together.
 * It gets a TMPDIR of its own, removed when it ends: Jupyter's kernels leave a folder behind in
 * the temp dir, and `npm test` must leave nothing there.
 */
export function runCommand(
  command: string,
  args: string[],
  env: Record<string, string>,
  ms = 300_000,
): Promise<Finished> {
  const tmp = tempDir('stagewise-python-');
  return new Promise<Finished>((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: repoRoot(),
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', TMPDIR: tmp, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      output += `\n[killed after ${ms} ms]\n`;
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    }, ms);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output });
    });
  }).finally(() => removeTempDir(tmp));
}
