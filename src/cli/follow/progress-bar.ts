/** On a terminal: a redrawn cli-progress bar with the run's metrics; other lines go above it. */
import cliProgress from 'cli-progress';
import { formatDuration } from '../commands/output';
import type { LiveProgress, WatchDisplay } from './display';

export class ProgressBar implements WatchDisplay {
  private readonly multi = new cliProgress.MultiBar(
    {
      format: '  {bar} {value}/{total} steps {percentage}% | ETA {etaText} | {metrics}',
      barsize: 28,
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      stream: process.stdout,
      gracefulExit: true,
    },
    cliProgress.Presets.shades_classic,
  );
  private bar: cliProgress.SingleBar | undefined;
  private stopped = false;

  line(text: string): void {
    if (this.bar && !this.stopped) this.multi.log(text + '\n');
    else process.stdout.write(text + '\n');
  }

  progress({ step, total, etaSeconds, metrics }: LiveProgress): void {
    const payload = {
      etaText: etaSeconds !== undefined && step < total ? formatDuration(etaSeconds) : '-',
      metrics,
    };
    if (this.stopped) return;
    if (!this.bar) this.bar = this.multi.create(total, step, payload);
    else {
      this.bar.setTotal(total);
      this.bar.update(step, payload);
    }
  }

  stop(): void {
    if (this.bar && !this.stopped) {
      this.multi.update(); // flushes lines logged since the last redraw; stop() drops them
      this.multi.stop();
    }
    this.stopped = true;
  }
}
