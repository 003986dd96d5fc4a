/**
 * When a run's progress is worth printing again: a new step, and at most every `everyMs` but for
 * the last step (so a pipe gets a readable log, and the final count always shows).
 */
export class ProgressThrottle {
  private step = -1;
  private printedAt = 0;

  constructor(private readonly everyMs: number) {}

  /** Whether to print `step` of `total` now; when it says yes, it counts as printed. */
  due(step: number, total: number): boolean {
    const now = Date.now();
    if (this.printedAt && step === this.step) return false;
    if (this.printedAt && step < total && now - this.printedAt < this.everyMs) return false;
    this.step = step;
    this.printedAt = now;
    return true;
  }
}
