/**
 * The compiled CLIs as the CLI tests run them: a child node per command, its exit code and
 * output; `stagewise` pointed at a test server whose runs use this repository's gpu-runner.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { startTestServer, type TestServer } from './test-server';
import { RUNNER_DIR } from './runs';

/** The compiled CLIs, beside the compiled tests: <out>/src/cli/*.js from <out>/tests/helpers. */
export const STAGEWISE_CLI = path.join(__dirname, '..', '..', 'src', 'cli', 'stagewise.js');
export const KEYS_CLI = path.join(__dirname, '..', '..', 'src', 'cli', 'keys.js');

export interface CliResult {
  /** The exit code; -1 when the process was killed (its timeout, a signal). */
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a compiled CLI script with `args` to its end. */
export function runScript(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [script, ...args],
      { env, timeout: timeoutMs },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A test server whose runs use this repository's gpu-runner, in a RUNS_DIR that close() removes. */
export async function startRunnerTestServer(): Promise<TestServer> {
  const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stagewise-cli-'));
  const removeRunsDir = () => fs.rmSync(runsDir, { recursive: true, force: true });
  try {
    const t = await startTestServer({ RUNS_DIR: runsDir, RUNNER_DIR });
    return {
      ...t,
      async close() {
        await t.close();
        removeRunsDir();
      },
    };
  } catch (err) {
    removeRunsDir();
    throw err;
  }
}

/** What a command line should end with: its exit code and, where given, what it printed. */
export interface ExpectedExit {
  args: string[];
  env?: Record<string, string>;
  code: number;
  stderr?: RegExp;
  stdout?: string;
}

/** A `stagewise` process left running (e.g. a watch), its output read as it comes. */
export interface RunningCli {
  readonly stdout: string;
  readonly stderr: string;
  /** Waits until stdout matches `pattern`, for `timeoutMs` at the most. */
  waitForStdout(pattern: RegExp, timeoutMs: number): Promise<void>;
  /** The exit code, or 'timeout' (and the process killed) when it has not exited in `timeoutMs`. */
  exit(timeoutMs: number): Promise<number | null | 'timeout'>;
  /** Sends it SIGINT, as Ctrl-C on a terminal does. */
  interrupt(): void;
}

/** `stagewise` against a test server, with its WRITE key unless an env says otherwise. */
export class StagewiseCli {
  constructor(
    private readonly t: TestServer,
    private readonly timeoutMs = 60_000,
  ) {}

  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
      ...process.env,
      STAGEWISE_URL: this.t.url,
      STAGEWISE_API_KEY: this.t.keys.write,
      RUNNER_DIR,
      ...extra,
    };
  }

  run(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
    return runScript(STAGEWISE_CLI, args, this.env(env), this.timeoutMs);
  }

  /** Runs a command that must succeed; its stdout. */
  async ok(args: string[]): Promise<string> {
    const res = await this.run(args);
    assert.equal(res.code, 0, `${args.join(' ')}: ${res.stderr}${res.stdout}`);
    return res.stdout;
  }

  /** Runs each command line in turn and checks how it ended. */
  async expectExits(cases: ExpectedExit[]): Promise<void> {
    for (const c of cases) {
      const res = await this.run(c.args, c.env);
      const what = c.args.join(' ');
      assert.equal(res.code, c.code, `${what}: ${res.stderr}${res.stdout}`);
      if (c.stderr) assert.match(res.stderr, c.stderr, what);
      if (c.stdout !== undefined) assert.equal(res.stdout, c.stdout, what);
    }
  }

  start(args: string[]): RunningCli {
    const child = spawn(process.execPath, [STAGEWISE_CLI, ...args], { env: this.env() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => resolve(code)),
    );
    return {
      get stdout() {
        return stdout;
      },
      get stderr() {
        return stderr;
      },
      async waitForStdout(pattern, timeoutMs) {
        const deadline = Date.now() + timeoutMs;
        while (!pattern.test(stdout) && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 100));
        }
      },
      async exit(timeoutMs) {
        let timer: NodeJS.Timeout | undefined;
        const code = await Promise.race([
          exited,
          new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs))),
        ]);
        clearTimeout(timer);
        if (code === 'timeout') child.kill();
        return code;
      },
      interrupt() {
        child.kill('SIGINT');
      },
    };
  }
}
