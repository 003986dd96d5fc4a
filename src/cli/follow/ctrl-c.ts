/** Ctrl-C during a watch stops the watching, not what is watched, and says how to stop that. */

/**
 * Until the returned function is called, Ctrl-C clears the display, says that `watched` (e.g.
 * "run X") goes on and that `cancelCommand` stops it, and exits 130.
 */
export function exitOnCtrlC(watched: string, cancelCommand: string, clear: () => void): () => void {
  const onSigint = () => {
    clear();
    process.stderr.write(`\nStopped watching; ${watched} goes on (${cancelCommand} stops it).\n`);
    process.exit(130);
  };
  process.once('SIGINT', onSigint);
  return () => process.removeListener('SIGINT', onSigint);
}
