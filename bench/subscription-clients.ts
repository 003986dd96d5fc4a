/**
 * The subscribers of bench/subscription-latency, in a process of their own so that the figure
 * measures the server: N WebSocket connections speaking graphql-transport-ws (the protocol
 * graphql-ws implements) directly, each with one runEvents subscription. Raw `ws` rather than
 * the graphql-ws client keeps the client side's work per message to one JSON.parse.
 *
 * Talks to its parent over IPC: `start` → `connected` (every subscription sent) → `arrived` (every
 * stream has its first event) → `report` (the run's last seq) → `result` (every arrival time, per
 * seq: the parent computes the latencies, over all its client processes), then it exits.
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

export interface StartMessage {
  type: 'start';
  url: string;
  key: string;
  runId: string;
  subscribers: number;
  /** The seq of the warm-up event: `arrived` is sent once every stream has it. */
  firstSeq: number;
}

export interface ReportMessage {
  type: 'report';
  /** The last seq of the run: every stream must hold 1..lastSeq, each once, in order. */
  lastSeq: number;
}

export interface ResultMessage {
  type: 'result';
  /** Arrival times (epoch ms) per seq, for every seq this process's subscribers received. */
  arrivals: [seq: number, times: number[]][];
  exact: boolean;
  completed: number;
  errors: string[];
}

/** Each connection is opened after the previous `CONNECT_BATCH` have answered. */
const CONNECT_BATCH = 50;
const QUERY = 'subscription($runId: ID!) { runEvents(runId: $runId) { seq type payload at } }';

/** Epoch milliseconds, as precise as performance.now(): comparable across processes. */
const now = () => performance.timeOrigin + performance.now();

const send = (message: unknown) => process.send?.(message);

class Subscriber {
  next = 1;
  exact = true;
  completed = false;
  error?: string;
  private readonly socket: WebSocket;

  constructor(
    start: StartMessage,
    /** Arrival times, per seq. */
    private readonly arrivals: Map<number, number[]>,
    private readonly onChange: () => void,
    /** Called once the subscription was sent, or the connection failed. */
    private readonly ready: () => void,
  ) {
    this.socket = new WebSocket(
      start.url.replace(/^http/, 'ws') + '/graphql',
      'graphql-transport-ws',
    );
    this.socket.on('open', () =>
      this.socket.send(
        JSON.stringify({
          type: 'connection_init',
          payload: { Authorization: `Bearer ${start.key}` },
        }),
      ),
    );
    this.socket.on('message', (data: Buffer) => {
      const at = now();
      const message = JSON.parse(data.toString()) as {
        type: string;
        payload?: { data?: { runEvents?: { seq: number } }; errors?: unknown };
      };
      switch (message.type) {
        case 'connection_ack':
          this.socket.send(
            JSON.stringify({
              id: '1',
              type: 'subscribe',
              payload: { query: QUERY, variables: { runId: start.runId } },
            }),
          );
          this.ready();
          return;
        case 'next': {
          const seq = message.payload?.data?.runEvents?.seq;
          if (seq === undefined) {
            this.fail(JSON.stringify(message.payload?.errors ?? message.payload));
            return;
          }
          if (seq !== this.next) this.exact = false;
          this.next = seq + 1;
          let times = this.arrivals.get(seq);
          if (!times) this.arrivals.set(seq, (times = []));
          times.push(at);
          if (seq === start.firstSeq) this.onChange();
          return;
        }
        case 'complete':
          this.completed = true;
          this.onChange();
          return;
        case 'error':
          this.fail(JSON.stringify(message.payload));
          return;
        case 'ping':
          this.socket.send(JSON.stringify({ type: 'pong' }));
          return;
      }
    });
    this.socket.on('error', (err) => this.fail(err.message));
    this.socket.on('close', (code) => {
      if (!this.completed) this.fail(`closed with ${code}`);
    });
  }

  private fail(reason: string): void {
    this.ready();
    this.error ??= reason;
    this.exact = false;
    this.completed = true;
    this.onChange();
  }

  close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.close(1000);
    });
  }
}

async function main(): Promise<void> {
  const start = await new Promise<StartMessage>((resolve) =>
    process.once('message', (m: StartMessage) => resolve(m)),
  );
  const arrivals = new Map<number, number[]>();
  const subscribers: Subscriber[] = [];
  let waiting: (() => void) | undefined;
  const onChange = () => waiting?.();
  const until = (ok: () => boolean) =>
    new Promise<void>((resolve) => {
      waiting = () => {
        if (!ok()) return;
        waiting = undefined;
        resolve();
      };
      waiting();
    });

  for (let k = 0; k < start.subscribers; k += CONNECT_BATCH) {
    const batch = Math.min(CONNECT_BATCH, start.subscribers - k);
    await Promise.all(
      Array.from(
        { length: batch },
        () =>
          new Promise<void>((ready) => {
            subscribers.push(new Subscriber(start, arrivals, onChange, ready));
          }),
      ),
    );
  }
  send({ type: 'connected' });
  await until(() => subscribers.every((s) => s.completed || s.next > start.firstSeq));
  send({ type: 'arrived' });

  const report = await new Promise<ReportMessage>((resolve) =>
    process.on('message', (m: ReportMessage) => {
      if (m.type === 'report') resolve(m);
    }),
  );
  await until(() => subscribers.every((s) => s.completed));
  const result: ResultMessage = {
    type: 'result',
    arrivals: [...arrivals],
    exact: subscribers.every((s) => s.exact && !s.error && s.next === report.lastSeq + 1),
    completed: subscribers.filter((s) => s.completed && !s.error).length,
    errors: [...new Set(subscribers.flatMap((s) => (s.error ? [s.error] : [])))].slice(0, 5),
  };
  await Promise.all(subscribers.map((s) => s.close()));
  // Disconnected once the (large) result is handed to the channel.
  process.send?.(result, () => process.disconnect());
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
