/**
 * What `npm test` left on the machine. scripts/test.sh takes a snapshot before the tests and
 * compares after them; the comparison fails, naming each thing, when the tests left:
 *   - a process running that they started (a daemon, an embedded PostgreSQL, a runner...): a new
 *     process whose environment, command line or working folder names the run's private temp dir
 *     (test.sh gives every test that TMPDIR, and children inherit it), so that other work on the
 *     machine meanwhile (a demo, another checkout's tests) is not counted;
 *   - an entry in the run's private temp dir (every folder a test made must be gone);
 *   - any change under /etc (a file added, removed or rewritten);
 *   - a file system still mounted that was not before (a test's small tmpfs, say).
 * New entries named `stagewise*` (this project's prefix) in the system temp dir are listed as a
 * note, not a failure: code that ignored TMPDIR would put them there, but so does other work on
 * a shared machine (another checkout's tests, a demo), and a file does not say who made it.
 *
 * Usage: machine-check snapshot FILE
 *        machine-check compare FILE --private-tmp DIR
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

interface ProcessInfo {
  pid: number;
  /** Clock ticks after boot (field 22 of /proc/PID/stat): a pid reused later is another process. */
  startTime: string;
  command: string;
}

interface Snapshot {
  systemTmp: string;
  mounts: string[];
  tmpEntries: string[];
  etc: Record<string, string>;
  processes: ProcessInfo[];
}

function readProc(pid: number | string, file: string): string {
  try {
    return fs.readFileSync(`/proc/${pid}/${file}`, 'latin1');
  } catch {
    return ''; // gone, or not ours to read
  }
}

/** Live (not zombie) processes. */
function processes(): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readProc(name, 'stat');
    if (!stat) continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') continue;
    const cmdline = readProc(name, 'cmdline').split('\0').join(' ').trim();
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    out.push({ pid: Number(name), startTime: fields[19], command: cmdline || `[${comm}]` });
  }
  return out;
}

/** This process and its ancestors: the check itself and test.sh name the private dir too. */
function selfAndAncestors(): Set<number> {
  const chain = new Set<number>();
  for (let pid = process.pid; pid > 1 && !chain.has(pid);) {
    chain.add(pid);
    const stat = readProc(pid, 'stat');
    if (!stat) break;
    pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  }
  return chain;
}

/** Does this process belong to the run: its environment, command line or folder names `dir`? */
function namesDir(pid: number, dir: string): boolean {
  // TMPDIR=dir in the environment is the usual case: every child of the tests inherits it.
  if (readProc(pid, 'cmdline').includes(dir) || readProc(pid, 'environ').includes(dir)) return true;
  try {
    const cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
    return cwd === dir || cwd.startsWith(`${dir}/`);
  } catch {
    return false;
  }
}

/** Every path under /etc with its type, size and mtime (links not followed). */
function etcListing(root = '/etc'): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      try {
        const st = fs.lstatSync(p);
        out[p] = `${e.isDirectory() ? 'dir' : st.size} ${st.mtimeMs}`;
      } catch {
        continue;
      }
      if (e.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out;
}

/** The mount points of this process's view of the system (/proc/self/mounts). */
function mountPoints(): string[] {
  return readProc('self', 'mounts')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' ')[1]);
}

function takeSnapshot(): Snapshot {
  const systemTmp = os.tmpdir();
  return {
    systemTmp,
    mounts: mountPoints(),
    tmpEntries: fs.readdirSync(systemTmp),
    etc: etcListing(),
    processes: processes(),
  };
}

/** What the run left behind, one line each (empty when nothing), and the notes. */
export function leftovers(
  before: Snapshot,
  privateTmp: string,
): { found: string[]; notes: string[] } {
  const found: string[] = [];
  const notes: string[] = [];
  const known = new Set(before.processes.map((p) => `${p.pid}@${p.startTime}`));
  const mine = selfAndAncestors();
  for (const p of processes()) {
    if (known.has(`${p.pid}@${p.startTime}`) || mine.has(p.pid)) continue;
    if (namesDir(p.pid, privateTmp)) found.push(`process ${p.pid} still running: ${p.command}`);
  }
  if (fs.existsSync(privateTmp)) {
    for (const name of fs.readdirSync(privateTmp).sort()) {
      found.push(`left in the temp dir: ${path.join(privateTmp, name)}`);
    }
  }
  const tmpBefore = new Set(before.tmpEntries);
  for (const name of fs.readdirSync(before.systemTmp).sort()) {
    if (
      !tmpBefore.has(name) &&
      name.startsWith('stagewise') &&
      path.join(before.systemTmp, name) !== privateTmp
    ) {
      notes.push(`new in the system temp dir: ${path.join(before.systemTmp, name)}`);
    }
  }
  const mountsBefore = new Set(before.mounts);
  for (const mount of mountPoints()) {
    if (!mountsBefore.has(mount)) found.push(`still mounted: ${mount}`);
  }
  const etc = etcListing();
  for (const p of Object.keys({ ...before.etc, ...etc }).sort()) {
    if (!(p in etc)) found.push(`removed from /etc: ${p}`);
    else if (!(p in before.etc)) found.push(`added to /etc: ${p}`);
    else if (before.etc[p] !== etc[p] && !etc[p].startsWith('dir '))
      found.push(`changed in /etc: ${p}`);
  }
  return { found, notes };
}

function main(argv: string[]): number {
  const [command, file] = argv;
  if (command === 'snapshot' && file) {
    fs.writeFileSync(file, JSON.stringify(takeSnapshot()));
    return 0;
  }
  const at = argv.indexOf('--private-tmp');
  const privateTmp = at >= 0 ? argv[at + 1] : undefined;
  if (command === 'compare' && file && privateTmp) {
    const before = JSON.parse(fs.readFileSync(file, 'utf8')) as Snapshot;
    const { found, notes } = leftovers(before, path.resolve(privateTmp));
    for (const note of notes) {
      console.log(
        `# machine-check (not counted; other work on this machine may have made it): ${note}`,
      );
    }
    if (!found.length) {
      console.log(
        '# machine-check: the tests left no process, temp file, mount or /etc change behind',
      );
      return 0;
    }
    console.error(`machine-check: the tests left ${found.length} thing(s) behind:`);
    for (const line of found) console.error(`  ${line}`);
    return 1;
  }
  console.error(
    'usage: machine-check snapshot FILE\n       machine-check compare FILE --private-tmp DIR',
  );
  return 2;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
