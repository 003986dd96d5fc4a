/**
 * On a terminal: lines, and one live progress line under them that each new line clears and
 * redraws.
 */
import { progressLine, type LiveProgress, type WatchDisplay } from './display';

export class LiveLine implements WatchDisplay {
  private live = '';

  line(text: string): void {
    if (this.live) process.stdout.write('\r\x1b[K');
    process.stdout.write(text + '\n');
    if (this.live) process.stdout.write(this.live);
  }

  progress(p: LiveProgress): void {
    this.live = progressLine(p).slice(0, (process.stdout.columns || 120) - 1);
    process.stdout.write('\r\x1b[K' + this.live);
  }

  stop(): void {
    if (this.live) process.stdout.write('\r\x1b[K');
    this.live = '';
  }
}
