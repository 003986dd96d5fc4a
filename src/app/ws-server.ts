import type http from 'node:http';
import { subscribe as graphqlSubscribe, type ExecutionArgs, type ExecutionResult } from 'graphql';
import {
  CloseCode,
  handleProtocols,
  makeServer,
  type Context,
  type ServerOptions,
  type SubscribePayload,
} from 'graphql-ws';
import type { Logger } from 'pino';
import type { WebSocket, WebSocketServer } from 'ws';
import { NextFrames } from './ws-next-frame';

/** Pings each connection this often; one that does not answer within as long is cut. */
const KEEP_ALIVE_MS = 12_000;
/**
 * Bytes a connection may have waiting to be written before its sends wait for the writes: below
 * it a message costs no round through the socket's callback, above it the subscription slows to
 * the client's pace (and its run's hub drops its queue if it falls far behind).
 */
const HIGH_WATER_BYTES = 64 * 1024;

/** What graphql-ws's hooks get as `ctx.extra`, as with graphql-ws/use/ws. */
export interface WsExtra {
  readonly socket: WebSocket;
  readonly request: http.IncomingMessage;
}

/** How one connection's messages are written (see serveGraphqlWs). */
interface Writer {
  /** A message graphql-ws serialised (acks, errors, completes, pongs). */
  send(data: string): Promise<void>;
  /** A whole `next` frame built by NextFrames. */
  sendFrame(frame: Buffer): Promise<void>;
}

/** Who a subscription's results go to: recorded at subscribe time, read when results flow. */
interface Target<P extends Record<string, unknown> | undefined, E> {
  ctx: Context<P, E>;
  id: string;
  payload: SubscribePayload;
}

/**
 * graphql-ws on a `ws` server: graphql-ws/use/ws, except in how messages are written.
 *
 * - Its send waits for each message's write to complete before the subscription may send the
 *   next, so every message costs a system call of its own. Here a connection's messages written
 *   in one turn of the event loop leave in one write (the socket is corked until the turn ends):
 *   when a run's hub hands a subscriber several events at once, because they came faster than
 *   one read per event, they reach the kernel together. Waiting for writes resumes past
 *   HIGH_WATER_BYTES.
 * - A subscription's results do not go through graphql-ws's per-message path (an await per
 *   hook, a JSON.stringify and a string frame per subscriber): the result (after onNext) is
 *   serialised once per result object and written as a ready frame (ws-next-frame.ts), so a
 *   result shared by 1,000 subscribers is serialised once and each socket gets one Buffer.
 *   graphql-ws still runs the subscription's life: subscribe, errors, complete, cancellation.
 */
export function serveGraphqlWs<
  P extends Record<string, unknown> | undefined,
  E extends Record<PropertyKey, unknown>,
>(
  options: ServerOptions<P, WsExtra & Partial<E>>,
  wss: WebSocketServer,
  log: Logger,
): { dispose(): Promise<void> } {
  const writers = new WeakMap<WebSocket, Writer>();
  const frames = new NextFrames();
  const targets = new WeakMap<ExecutionArgs, Target<P, WsExtra & Partial<E>>>();
  const server = makeServer<P, WsExtra & Partial<E>>({
    ...options,
    async onSubscribe(ctx, id, payload) {
      const args = await options.onSubscribe?.(ctx, id, payload);
      if (args && !isErrorList(args)) targets.set(args, { ctx, id, payload });
      return args;
    },
    async subscribe(args) {
      const result = await (options.subscribe ?? graphqlSubscribe)(args);
      const target = targets.get(args);
      const writer = target && writers.get(target.ctx.extra.socket);
      // A replacer changes the bytes per message, and onOperation may replace the stream:
      // with either, graphql-ws serialises and sends, as it would.
      const plainPath = options.jsonMessageReplacer || options.onOperation;
      if (!target || !writer || plainPath || !isAsyncIterable(result)) {
        return result;
      }
      return writeResults(result, target, (r) => {
        const payload = options.onNext?.(target.ctx, target.id, target.payload, args, r);
        return payload instanceof Promise
          ? payload.then((p) => writer.sendFrame(frames.frame(target.id, p || plain(r))))
          : writer.sendFrame(frames.frame(target.id, payload || plain(r)));
      });
    },
  });
  wss.options.handleProtocols = handleProtocols;
  wss.on('error', (err) => log.error({ err }, 'websocket server error'));

  wss.on('connection', (socket: WebSocket, request: http.IncomingMessage) => {
    // The TCP socket ws writes to: corking it gathers ws's frame writes.
    const raw = request.socket;
    let corked = false;
    const uncork = () => {
      corked = false;
      raw.uncork();
    };
    const fail = (err: unknown) => {
      log.error({ err }, 'error on a graphql-ws connection');
      socket.close(CloseCode.InternalServerError, 'Internal server error');
    };
    socket.once('error', fail);

    let pongWait: NodeJS.Timeout | undefined;
    const pinger = setInterval(() => {
      if (socket.readyState !== socket.OPEN) return;
      pongWait = setTimeout(() => socket.terminate(), KEEP_ALIVE_MS);
      socket.once('pong', () => clearTimeout(pongWait));
      socket.ping();
    }, KEEP_ALIVE_MS);

    /** Writes through `write` (ws' send, or the raw socket) with the cork and high water. */
    const written = (write: (cb?: (err?: Error | null) => void) => void) => {
      if (socket.readyState !== socket.OPEN) return Promise.resolve();
      if (!corked) {
        corked = true;
        raw.cork();
        process.nextTick(uncork);
      }
      if (socket.bufferedAmount < HIGH_WATER_BYTES) {
        // A failed write ends the connection: its 'close' ends the subscriptions.
        write();
        return Promise.resolve();
      }
      return new Promise<void>((resolve, reject) =>
        write((err) => (err ? reject(err) : resolve())),
      );
    };
    // A ready frame goes to the TCP socket itself. ws writes its own frames there synchronously
    // and in order (it queues only while compressing, and no extension is negotiated here), so
    // frames from both never interleave; with an extension, ws frames the message itself.
    const rawFrames = socket.extensions === '';
    const writer: Writer = {
      send: (data) => written((cb) => socket.send(data, cb)),
      sendFrame: (frame) =>
        rawFrames
          ? written((cb) => raw.write(frame, cb))
          : written((cb) => socket.send(unframed(frame), { binary: false }, cb)),
    };
    writers.set(socket, writer);

    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) => writer.send(data),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (cb) =>
          socket.on('message', (data: Buffer) => {
            cb(String(data)).catch(fail);
          }),
      },
      { socket, request } as WsExtra & Partial<E>,
    );

    socket.once('close', (code: number, reason: Buffer) => {
      clearTimeout(pongWait);
      clearInterval(pinger);
      void closed(code, reason.toString());
    });
  });

  return {
    async dispose() {
      for (const client of wss.clients) client.close(1001, 'Going away');
      wss.removeAllListeners();
      await new Promise<void>((resolve, reject) =>
        wss.close((err) => (err ? reject(err) : resolve())),
      );
    },
  };
}

const isErrorList = (value: unknown): value is readonly unknown[] => Array.isArray(value);

function isAsyncIterable(value: unknown): value is AsyncIterable<ExecutionResult> {
  return (
    typeof (Object(value) as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === 'function'
  );
}

/** What graphql-ws sends for a result when onNext returns nothing: errors as their JSON. */
function plain(result: ExecutionResult): object {
  const { errors, ...rest } = result;
  return errors ? { ...rest, errors: errors.map((e) => e.toJSON()) } : rest;
}

/** A frame's payload without its header (only when an extension rules the raw frame out). */
function unframed(frame: Buffer): Buffer {
  const length = frame[1] & 0x7f;
  return frame.subarray(length === 126 ? 4 : length === 127 ? 10 : 2);
}

/**
 * The results of `source` written by `write` as they come; to graphql-ws, a stream that yields
 * nothing and ends when the source ends (it then sends `complete`) or fails (it sends `error`).
 * Once graphql-ws has dropped the subscription (the client completed it, or the socket closed)
 * nothing more is written, as graphql-ws itself would not.
 */
function writeResults<P extends Record<string, unknown> | undefined, E>(
  source: AsyncIterable<ExecutionResult>,
  target: Target<P, E>,
  write: (result: ExecutionResult) => Promise<void>,
): AsyncIterableIterator<never> {
  const iterator = source[Symbol.asyncIterator]();
  const live = () => target.ctx.subscriptions[target.id] === results;
  const results: AsyncIterableIterator<never> = {
    async next() {
      for (;;) {
        const step = await iterator.next();
        if (step.done || !live()) return { done: true, value: undefined };
        await write(step.value);
      }
    },
    async return() {
      await iterator.return?.();
      return { done: true, value: undefined };
    },
    async throw(err: unknown) {
      await iterator.return?.();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return results;
}
