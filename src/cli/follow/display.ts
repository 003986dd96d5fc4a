/**
 * Where a watch writes: lines that stay (status changes, logs, the summary) and the live progress
 * of a run. On a terminal the progress is redrawn in place (progress-bar.ts, live-line.ts); in a
 * pipe or with --plain every progress shown is a line of its own (PlainLines).
 */
import { clock, stepProgress } from '../commands/output';
import type { ProgressThrottle } from './progress-throttle';

export interface LiveProgress {
  step: number;
  total: number;
  etaSeconds: number | undefined;
  /** A metric summary, e.g. "train/loss=0.52". */
  metrics: string;
  /** What goes before "step n/N" on a line, e.g. "  SFT "; a bar leaves it out. */
  label?: string;
}

export interface WatchDisplay {
  /** A line that stays, written above the live progress. */
  line(text: string): void;
  progress(p: LiveProgress): void;
  /** Ends the live progress: a line is cleared until the next progress; a bar stays as drawn. */
  stop(): void;
}

/** Whether a watch redraws its progress: on a terminal, unless --plain. */
export function redrawsProgress(plain: boolean | undefined): boolean {
  return Boolean(process.stdout.isTTY) && !plain;
}

/** "[12:00:01]   SFT step 5/20 (25%) eta 3s train/loss=0.5": a progress line as it stays. */
export function progressLine(p: LiveProgress): string {
  return `[${clock()}] ${p.label ?? ''}${stepProgress(p.step, p.total, p.etaSeconds, p.metrics)}`;
}

/** Plain lines for pipes and CI; progress is a line each time, or as often as `throttle` says. */
export class PlainLines implements WatchDisplay {
  constructor(private readonly throttle?: ProgressThrottle) {}

  line(text: string): void {
    process.stdout.write(text + '\n');
  }

  progress(p: LiveProgress): void {
    if (this.throttle && !this.throttle.due(p.step, p.total)) return;
    this.line(progressLine(p));
  }

  stop(): void {}
}
