/**
 * A TCP proxy in front of a test server, so that a test can do to a client's connections what a
 * network does: drop every open one at once, or refuse new ones (WebSocket upgrades only, or all)
 * while the server itself stays up.
 */
import net from 'node:net';

/** What the proxy lets through: everything, plain HTTP but no WebSocket upgrade, or nothing. */
export type Refusal = 'none' | 'websockets' | 'all';

export interface TcpProxy {
  /** The server's URL, through the proxy. */
  url: string;
  /** WebSocket upgrade requests passed on to the server so far. */
  readonly upgrades: number;
  refuse: Refusal;
  /** Destroys every open connection, both sides, as a network failure would. */
  dropAll(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetUrl: string): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const open = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const dropAll = () => {
    for (const socket of open) socket.destroy();
  };
  const proxy = {
    url: '',
    upgrades: 0,
    refuse: 'none' as Refusal,
    dropAll,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        dropAll();
      }),
  };
  const server = net.createServer((client) => {
    track(client);
    // The first bytes are the request line and headers: enough to tell an upgrade.
    client.once('data', (head: Buffer) => {
      const upgrade = /^upgrade:\s*websocket/im.test(head.toString('latin1'));
      if (proxy.refuse === 'all' || (upgrade && proxy.refuse === 'websockets')) {
        client.destroy();
        return;
      }
      if (upgrade) proxy.upgrades += 1;
      const upstream = net.connect(Number(target.port), target.hostname);
      track(upstream);
      upstream.write(head);
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return proxy;
}
