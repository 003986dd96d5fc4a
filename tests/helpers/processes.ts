import fs from 'node:fs';
import path from 'node:path';

/** A process's state, process group and start time, from /proc; null once it is gone. */
export function procStat(pid: number): { state: string; pgid: number; startTime: string } | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: f[0], pgid: Number(f[2]), startTime: f[19] };
}

/** Running (not zombie) process. */
export function alive(pid: number): boolean {
  const st = procStat(pid);
  return st !== null && st.state !== 'Z' && st.state !== 'X';
}

/** Live (not zombie) processes whose process group is `pgid`. */
export function groupMembers(pgid: number): number[] {
  return fs
    .readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      const st = procStat(Number(name));
      return st !== null && st.pgid === pgid && st.state !== 'Z' && st.state !== 'X';
    })
    .map(Number);
}

/** The repository: the nearest folder at or above the working directory with a package.json. */
export function repoRoot(): string {
  for (let dir = process.cwd(); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${process.cwd()}`);
  }
}
