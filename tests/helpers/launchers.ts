import type { JobState } from '../../src/launchers/launcher';

export type Exited = Extract<JobState, { state: 'EXITED' }>;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` every `everyMs` until it gives something truthy, or fails after `ms`. */
export async function until<T>(
  what: string,
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 5000,
  everyMs = 20,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Launcher hooks that collect what a job reports: its log lines and its one exit. */
export function recorder() {
  const logs: { stream: string; line: string }[] = [];
  const exits: Exited[] = [];
  let resolveExit!: (s: Exited) => void;
  const exited = new Promise<Exited>((r) => (resolveExit = r));
  return {
    logs,
    exits,
    exited,
    hooks: {
      onLog: (_runId: number, stream: 'stdout' | 'stderr', line: string) =>
        logs.push({ stream, line }),
      onExit: (_runId: number, state: Exited) => {
        exits.push(state);
        resolveExit(state);
      },
    },
  };
}
