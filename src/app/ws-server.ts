import type http from 'node:http';
import { CloseCode, handleProtocols, makeServer, type ServerOptions } from 'graphql-ws';
import type { Logger } from 'pino';
import type { WebSocket, WebSocketServer } from 'ws';

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

/**
 * graphql-ws on a `ws` server: graphql-ws/use/ws, except in how messages are written. Its
 * send waits for each message's write to complete before the subscription may send the next,
 * so every message costs a system call of its own. Here a connection's messages written in one
 * turn of the event loop leave in one write (the socket is corked until the turn ends): when a
 * run's hub hands a subscriber several events at once, because they came faster than one read
 * per event, they reach the kernel together. Waiting for writes resumes past HIGH_WATER_BYTES.
 */
export function serveGraphqlWs<
  P extends Record<string, unknown> | undefined,
  E extends Record<PropertyKey, unknown>,
>(
  options: ServerOptions<P, WsExtra & Partial<E>>,
  wss: WebSocketServer,
  log: Logger,
): { dispose(): Promise<void> } {
  const server = makeServer(options);
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

    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) => {
          if (socket.readyState !== socket.OPEN) return Promise.resolve();
          if (!corked) {
            corked = true;
            raw.cork();
            process.nextTick(uncork);
          }
          if (socket.bufferedAmount < HIGH_WATER_BYTES) {
            // A failed write ends the connection: its 'close' ends the subscriptions.
            socket.send(data);
            return Promise.resolve();
          }
          return new Promise<void>((resolve, reject) =>
            socket.send(data, (err) => (err ? reject(err) : resolve())),
          );
        },
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
