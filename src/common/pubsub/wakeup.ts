/**
 * A level-triggered wake-up for one reader: a notify that comes while the reader is busy is
 * remembered, so the reader's next wait returns at once and it re-reads. Readers therefore never
 * miss a change between "read the rows" and "wait for more".
 */
export class Wakeup {
  private pending = false;
  private release?: () => void;

  notify(): void {
    this.pending = true;
    const release = this.release;
    this.release = undefined;
    release?.();
  }

  /**
   * Until the next notify (or at once if one is pending), `ms` elapse, or `stop` settles. Without
   * `ms` no timer is set, and without `stop` nothing is attached to a long-lived promise: a
   * reader woken thousands of times should have its stopping call notify() instead.
   */
  async wait(ms = Infinity, stop?: Promise<unknown>): Promise<void> {
    if (!this.pending) {
      let timer: NodeJS.Timeout | undefined;
      const woken = new Promise<void>((resolve) => {
        this.release = resolve;
        if (Number.isFinite(ms)) timer = setTimeout(resolve, ms);
      });
      await (stop ? Promise.race([woken, stop]) : woken);
      clearTimeout(timer);
      this.release = undefined;
    }
    this.pending = false;
  }
}
