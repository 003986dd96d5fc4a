/**
 * Progress of a file transfer (`import`, `export`): a redrawn cli-progress bar with its rate on a
 * TTY, one plain summary line per phase otherwise, nothing at all under --json.
 */
import { performance } from 'node:perf_hooks';
import cliProgress from 'cli-progress';
import { formatDuration } from './output';

export type ProgressUnit = 'bytes' | 'rows' | 'lines';

const megabytes = (n: number) => `${(n / 1e6).toFixed(2)} MB`;
const amount = (n: number, unit: ProgressUnit) =>
  unit === 'bytes' ? megabytes(n) : `${n.toLocaleString('en-US')} ${unit}`;

export class TransferProgress {
  private readonly started = performance.now();
  private readonly bar: cliProgress.SingleBar | undefined;

  /**
   * `label`: the phase ("reading", "samples"); `total`: in `unit`, or undefined when unknown
   * (an export's size); `mode`: 'tty' redraws a bar, 'plain' prints the summary, 'quiet' nothing.
   */
  constructor(
    private readonly label: string,
    private readonly total: number | undefined,
    private readonly unit: ProgressUnit,
    private readonly mode: 'tty' | 'plain' | 'quiet',
  ) {
    if (mode !== 'tty') return;
    const format =
      total === undefined
        ? `  ${label.padEnd(8)} {doneText} | {rateText}`
        : `  ${label.padEnd(8)} {bar} {percentage}% | {doneText} of {totalText} | {rateText}`;
    this.bar = new cliProgress.SingleBar(
      { format, barsize: 28, hideCursor: true, stream: process.stdout, gracefulExit: true },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(total ?? 1, 0, this.payload(0, 0));
  }

  static modeFor(json: boolean): 'tty' | 'plain' | 'quiet' {
    if (json) return 'quiet';
    return process.stdout.isTTY ? 'tty' : 'plain';
  }

  get seconds(): number {
    return (performance.now() - this.started) / 1000;
  }

  /** Records per second so far. */
  rate(count: number): number {
    return Math.round(count / Math.max(this.seconds, 1e-3));
  }

  private payload(done: number, count: number) {
    return {
      doneText: amount(done, this.unit),
      totalText: this.total === undefined ? '?' : amount(this.total, this.unit),
      rateText: `${this.rate(count).toLocaleString('en-US')} rows/s`,
    };
  }

  /** `done` in the bar's unit; `count`: the rows so far, for the rate. */
  update(done: number, count: number): void {
    this.bar?.update(this.total === undefined ? 0 : done, this.payload(done, count));
  }

  /** Ends the bar and prints "label N rows in 1.2s (X rows/s): detail". */
  finish(count: number, detail: string): void {
    this.bar?.stop();
    if (this.mode === 'quiet') return;
    const summary =
      `  ${this.label.padEnd(8)} ${count.toLocaleString('en-US')} rows in ${formatDuration(this.seconds)} ` +
      `(${this.rate(count).toLocaleString('en-US')} rows/s)${detail ? `: ${detail}` : ''}`;
    console.log(summary);
  }

  /** Ends the bar without a summary (the command failed). */
  abort(): void {
    this.bar?.stop();
  }
}
