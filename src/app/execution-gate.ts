/**
 * At most `limit` GraphQL reads execute at once; the rest wait their turn, first come first
 * served, before they read a row. The read path's garbage is what its requests in flight hold:
 * rows, result objects and answer text, up to a few MB each. With twenty large reads running
 * interleaved on one event loop, every young-generation collection found all of them alive, so
 * it copied and promoted them, and collection took a quarter of the main thread. The CPU does
 * the same work either way (the loop runs one request at a time); a few at once keep it busy
 * while others wait on PostgreSQL, and the rest hold only their parsed request while they wait.
 */
export class ExecutionGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {
    if (!(Number.isInteger(limit) && limit >= 1)) {
      throw new RangeError(`execution gate limit must be a positive integer, got ${limit}`);
    }
  }

  /** Reads executing now, and reads waiting for a turn (metrics, tests). */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  /** Runs `work` once a turn is free; the turn is given back however `work` ends. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) {
      await new Promise<void>((turn) => this.waiting.push(turn));
    } else {
      this.running++;
    }
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      // The turn passes straight to the next in line, so `running` never drops below the limit
      // while someone waits (a newcomer cannot slip in ahead of the queue).
      if (next) next();
      else this.running--;
    }
  }
}
