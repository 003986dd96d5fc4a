/**
 * Stage timestamps for bench/subscription-latency (`--trace`): where the time from a commit to a
 * subscriber's socket goes inside the server's process. It wraps, in this process only:
 * - the announcement bus (a listener of its own on the run's topic: when the NOTIFY came back),
 * - the hub's page read (run-event-pages' readPage: when the read's rows were in hand),
 * - the sends of each seq, first and last (the per-subscriber JS work): ws' WebSocket#send, and
 *   NextFrames#frame, which builds (or finds) the ready frame of each subscriber's `next`,
 * - net.Socket#uncork (the writes to the kernel: connections' sends are corked until the turn
 *   of the event loop ends, then each connection's frames leave in one writev).
 * At the read and after the last write's turn, the process's CPU (process.cpuUsage, all its
 * threads; the kernel counts it in ticks, so read the median over many events): the CPU each
 * fan-out costs, a figure the machine's load moves far less than the times.
 * Tracing costs a regex per send and a clock read per uncork, so traced runs are slower than
 * untraced ones; the breakdown is read from a traced run, the headline from an untraced one.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import * as pages from '../src/modules/runs/run-event-pages';
import { NextFrames } from '../src/app/ws-next-frame';
import type { AnnouncementSource } from '../src/common/pubsub/bus';

/** Epoch milliseconds, as precise as performance.now(): comparable with the child's. */
const now = () => performance.timeOrigin + performance.now();

export interface SeqMarks {
  /** The NOTIFY came back to this process's listener. */
  heard?: number;
  /** The hub's read that carried this seq returned its rows. */
  read?: number;
  firstSend?: number;
  lastSend?: number;
  sends: number;
  /** The last writev (uncork) that ran after this seq's last send. */
  lastWrite?: number;
  /** The process's CPU when the read returned (process.cpuUsage). */
  cpuAtRead?: NodeJS.CpuUsage;
  /** The process's CPU from the read to the end of the last write's turn (µs). */
  fanOutCpu?: NodeJS.CpuUsage;
}

export interface Trace {
  marks: Map<number, SeqMarks>;
  /** Undoes the wrapping. */
  stop(): void;
}

const SEQ = /"seq":(\d+)/;

export function installTrace(source: AnnouncementSource, runId: number): Trace {
  const marks = new Map<number, SeqMarks>();
  const markOf = (seq: number) => {
    let m = marks.get(seq);
    if (!m) marks.set(seq, (m = { sends: 0 }));
    return m;
  };

  const unlisten = source.listen([`runEvents:${runId}`], (signal) => {
    if (signal.k === 'runEvents') markOf(signal.seq).heard ??= now();
  });

  // The hub calls readPage through the module's exports object (CommonJS), so this reaches it.
  const mutablePages = pages as { readPage: typeof pages.readPage };
  const readPage = mutablePages.readPage;
  mutablePages.readPage = async (...args) => {
    const page = await readPage(...args);
    const at = now();
    const cpu = process.cpuUsage();
    for (const e of page.events) {
      const m = markOf(e.seq);
      m.read ??= at;
      m.cpuAtRead ??= cpu;
    }
    return page;
  };

  // Sends of one turn are traced as a group: the uncorks that follow them are their writes.
  let sentThisTurn: SeqMarks[] = [];
  const sent = (m: SeqMarks) => {
    const at = now();
    m.firstSend ??= at;
    m.lastSend = at;
    m.sends += 1;
    if (sentThisTurn.length === 0) {
      setImmediate(() => {
        for (const turn of sentThisTurn) {
          turn.lastWrite = Math.max(lastUncork, turn.lastSend ?? 0);
          if (turn.cpuAtRead) turn.fanOutCpu = process.cpuUsage(turn.cpuAtRead);
        }
        sentThisTurn = [];
      });
    }
    if (sentThisTurn[sentThisTurn.length - 1] !== m) sentThisTurn.push(m);
  };
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called back with .apply(this)
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function traced(this: WebSocket, ...args: unknown[]) {
    const data = args[0];
    const match = typeof data === 'string' || Buffer.isBuffer(data) ? SEQ.exec(String(data)) : null;
    if (match) sent(markOf(Number(match[1])));
    return (send as (...a: unknown[]) => void).apply(this, args);
  } as typeof send;

  // eslint-disable-next-line @typescript-eslint/unbound-method -- called back with .call(this)
  const frame = NextFrames.prototype.frame;
  NextFrames.prototype.frame = function traced(this: NextFrames, id: string, payload: object) {
    const seq = (payload as { data?: { runEvents?: { seq?: unknown } } }).data?.runEvents?.seq;
    if (typeof seq === 'number') sent(markOf(seq));
    return frame.call(this, id, payload);
  };

  let lastUncork = 0;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called back with .call(this)
  const uncork = net.Socket.prototype.uncork;
  net.Socket.prototype.uncork = function traced(this: net.Socket) {
    uncork.call(this);
    lastUncork = now();
  };

  return {
    marks,
    stop() {
      unlisten();
      mutablePages.readPage = readPage;
      WebSocket.prototype.send = send;
      net.Socket.prototype.uncork = uncork;
      NextFrames.prototype.frame = frame;
    },
  };
}
