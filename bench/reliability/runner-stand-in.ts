/**
 * A runner stand-in: posts a run's events through the real runner endpoint
 * (`POST /v1/runs/:id/events`) with the run's RUNNER token, numbering them 1, 2, 3... and keeping
 * any the API did not take in a buffer, as the real runner does, to send again later.
 */
import type { RunnerStandIn as RunnerRun } from './api-process';

export interface StandInEvent {
  seq: number;
  type: 'LOG' | 'PROGRESS' | 'METRIC' | 'STATUS';
  payload: Record<string, unknown>;
}

export class RunnerStandIn {
  private nextSeq = 1;
  private readonly buffer: StandInEvent[] = [];
  /** Statuses the endpoint answered with when it refused (0: no answer), for the report. */
  readonly refusals: number[] = [];

  constructor(
    private readonly apiUrl: () => string,
    readonly run: RunnerRun,
  ) {}

  /** Events emitted so far (sent or buffered). */
  get emitted(): number {
    return this.nextSeq - 1;
  }

  get buffered(): number {
    return this.buffer.length;
  }

  emit(type: StandInEvent['type'] = 'LOG', payload: Record<string, unknown> = {}): void {
    const seq = this.nextSeq++;
    this.buffer.push({ seq, type, payload: { ...payload, standIn: seq } });
  }

  /** Sends what is buffered, in order; true when the API took all of it. */
  async flush(): Promise<boolean> {
    while (this.buffer.length) {
      const batch = this.buffer.slice(0, 100);
      let status = 0;
      try {
        const res = await fetch(`${this.apiUrl()}/v1/runs/${this.run.runId}/events`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${this.run.token}`,
          },
          body: JSON.stringify({ events: batch }),
        });
        status = res.status;
        await res.text();
      } catch {
        status = 0;
      }
      if (status !== 200) {
        this.refusals.push(status);
        return false;
      }
      this.buffer.splice(0, batch.length);
    }
    return true;
  }

  /** Flushes until the API takes everything, for at most `ms`. */
  async flushWithin(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!(await this.flush())) {
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 250));
    }
    return true;
  }

  /** The last event: the run succeeded (subscriptions complete after it). */
  finish(): void {
    this.emit('STATUS', { status: 'SUCCEEDED' });
  }
}

/** Lost and duplicated seqs: `got` against exactly 1..expected once each, in order. */
export function compareSeqs(
  got: number[],
  expected: number[],
): { lost: number; duplicated: number; outOfOrder: boolean } {
  const counts = new Map<number, number>();
  for (const s of got) counts.set(s, (counts.get(s) ?? 0) + 1);
  const lost = expected.filter((s) => !counts.has(s)).length;
  const duplicated = [...counts.values()].reduce((n, c) => n + (c - 1), 0);
  const outOfOrder = got.some((s, k) => k > 0 && got[k - 1] >= s);
  return { lost, duplicated, outOfOrder };
}
