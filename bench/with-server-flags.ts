/**
 * For a benchmark that serves the API in its own process: run it under the API's Node flags
 * (src/app/server-node-flags.ts), as `npm start` runs the server, so the figure measures the
 * server as it is deployed. Flags such as the young generation's size can only be set when the
 * process starts, so a process started without them runs itself again with them.
 */
import { spawn } from 'node:child_process';
import { SERVER_NODE_FLAGS } from '../src/app/server-node-flags';

/** True when this process lacks the flags and has handed over to a child that has them. */
export function reexecWithServerFlags(): boolean {
  if (SERVER_NODE_FLAGS.every((flag) => process.execArgv.includes(flag))) return false;
  // spawn, not fork: a forked child's IPC channel to this process kept it alive after its work
  // was done (the benchmark printed its result and never exited).
  const child = spawn(
    process.execPath,
    [...process.execArgv, ...SERVER_NODE_FLAGS, process.argv[1], ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => child.kill(signal));
  }
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? (signal ? 1 : 0);
  });
  return true;
}
