/**
 * A server under benchmark in its own process, with the probe (probe.ts) preloaded, so its CPU
 * and memory figures are its own and not the load generator's. Output goes to a log file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fork, type ChildProcess } from 'node:child_process';
import { waitFor } from '../reliability/api-process';
import type { ProbeFigures, ProbeMessage, ProbeReply } from './probe';
import type { Listening } from './postgraphile-server';

/** Compiled entry points, from dist/bench/api/. */
export const PROBE = path.join(__dirname, 'probe.js');
export const STAGEWISE_MAIN = path.join(__dirname, '..', '..', 'src', 'main.js');
export const POSTGRAPHILE_MAIN = path.join(__dirname, 'postgraphile-server.js');

export interface ServerProcess {
  name: string;
  /** Base URL; GraphQL is at `${url}/graphql`. */
  url: string;
  /** Runs `during` between the probe's start and stop; returns its result and the figures. */
  measure<T>(during: () => Promise<T>): Promise<{ result: T; figures: ProbeFigures }>;
  /** SIGTERM, then SIGKILL after 10 s; resolves once the process is gone. */
  close(): Promise<void>;
}

export async function startServerProcess(opts: {
  name: string;
  main: string;
  /** Node flags of the server process (the probe is preloaded in any case). */
  nodeFlags?: readonly string[];
  env: Record<string, string>;
  logFile: string;
  /** Where the server prints its base URL; without one it sends `{ listening }` over IPC. */
  urlInLog?: RegExp;
}): Promise<ServerProcess> {
  const log = fs.openSync(opts.logFile, 'a');
  const child: ChildProcess = fork(opts.main, [], {
    execArgv: [...(opts.nodeFlags ?? []), '-r', PROBE],
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', log, log, 'ipc'],
  });
  fs.closeSync(log);
  let exited: string | undefined;
  const gone = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = signal ?? String(code);
      resolve();
    }),
  );
  let listening: string | undefined;
  let pending: { resolve(m: ProbeReply): void; reject(e: Error): void } | undefined;
  child.on('message', (message: ProbeReply | Listening) => {
    if ('listening' in message) listening = message.listening;
    else pending?.resolve(message);
  });
  void gone.then(() => pending?.reject(new Error(`${opts.name} exited (${exited})`)));

  const close = async () => {
    if (exited === undefined) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(timer);
  };

  try {
    const url = await waitFor(
      `${opts.name} to listen`,
      () => {
        if (exited !== undefined)
          throw new Error(`${opts.name} exited (${exited}) on start: see ${opts.logFile}`);
        if (!opts.urlInLog) return listening;
        return opts.urlInLog.exec(fs.readFileSync(opts.logFile, 'utf8'))?.[1];
      },
      120_000,
    );

    const ask = (message: ProbeMessage) =>
      new Promise<ProbeReply>((resolve, reject) => {
        if (exited !== undefined) return reject(new Error(`${opts.name} exited (${exited})`));
        pending = { resolve, reject };
        child.send(message);
      });

    return {
      name: opts.name,
      url,
      async measure(during) {
        await ask({ probe: 'start' });
        const result = await during();
        const figures = await ask({ probe: 'stop' });
        if (figures.probe !== 'figures') throw new Error(`${opts.name}: the probe did not answer`);
        const { probe: _, ...rest } = figures;
        return { result, figures: rest };
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
