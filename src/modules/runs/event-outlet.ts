/**
 * The consumer's end of one run event stream: an async iterator its producer fills with plain
 * synchronous calls. It replaces a Repeater on the fan-out path: a run's hub hands an event to
 * its 1,000 subscribers in one loop, and for a subscriber whose consumer is already waiting,
 * handing it over is one promise resolution, not a push with its own promises and checks.
 *
 * One consumer, one producer. The producer puts a batch, then waits for `drained()` before it
 * takes more (backpressure: a slow consumer leaves its events in the hub's queue, where the hub
 * applies its limit).
 */
interface Waiter<T> {
  resolve(step: IteratorResult<T>): void;
  reject(err: unknown): void;
}

export class EventOutlet<T> implements AsyncIterableIterator<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  /** Calls of next() not yet answered, oldest first (one, unless the consumer overlaps them). */
  private readonly waiting: Waiter<T>[] = [];
  private drainedWaiter?: () => void;
  /** The producer is done: after the items, the stream ends (or fails with `error`). */
  private end?: { error?: unknown; told: boolean };
  /** The consumer returned: nothing more is handed over. */
  private closed = false;

  constructor(
    /** Called once when the consumer returns (or throws into the stream); awaited by return(). */
    private readonly onClose: () => Promise<void>,
  ) {}

  /** Items put and not yet taken by the consumer. */
  get backlog(): number {
    return this.items.length - this.head;
  }

  /** The consumer has returned. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Hands `item` to the waiting consumer, or keeps it for its next call. */
  put(item: T): void {
    if (this.closed || this.end) return;
    const waiting = this.waiting.shift();
    if (waiting) waiting.resolve({ done: false, value: item });
    else this.items.push(item);
  }

  /** Resolves once the consumer has taken every item put so far, or has returned. */
  drained(): Promise<void> {
    if (this.backlog === 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => (this.drainedWaiter = resolve));
  }

  /** The producer's last word: the stream ends once its items are taken, with `error` if any. */
  finish(error?: unknown): void {
    if (this.end) return;
    this.end = { error, told: false };
    if (this.backlog === 0) for (const waiting of this.waiting.splice(0)) this.tellEnd(waiting);
  }

  next(): Promise<IteratorResult<T>> {
    if (this.head < this.items.length) {
      const value = this.items[this.head] as T;
      this.items[this.head++] = undefined;
      if (this.head === this.items.length) this.emptied();
      return Promise.resolve({ done: false, value });
    }
    if (this.closed || (this.end && this.end.told)) {
      return Promise.resolve({ done: true, value: undefined });
    }
    return new Promise<IteratorResult<T>>((resolve, reject) => {
      const waiting = { resolve, reject };
      if (this.end) this.tellEnd(waiting);
      else this.waiting.push(waiting);
    });
  }

  async return(): Promise<IteratorResult<T>> {
    await this.close();
    return { done: true, value: undefined };
  }

  async throw(err: unknown): Promise<IteratorResult<T>> {
    await this.close();
    throw err;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.items = [];
    this.head = 0;
    this.emptied();
    for (const waiting of this.waiting.splice(0)) waiting.resolve({ done: true, value: undefined });
    await this.onClose();
  }

  private emptied(): void {
    this.items = [];
    this.head = 0;
    const drained = this.drainedWaiter;
    this.drainedWaiter = undefined;
    drained?.();
  }

  /** The end for one call of next(): the error goes to the first call only, then done. */
  private tellEnd(waiting: Waiter<T>): void {
    const end = this.end as { error?: unknown; told: boolean };
    const told = end.told;
    end.told = true;
    if (told) {
      waiting.resolve({ done: true, value: undefined });
      return;
    }
    if (end.error !== undefined) waiting.reject(end.error);
    else waiting.resolve({ done: true, value: undefined });
  }
}
