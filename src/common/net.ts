import net from 'node:net';

/** A TCP port free on 127.0.0.1 right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Whether something already listens on `host:port`: a listen there fails with EADDRINUSE. Asked
 * before the server opens its database, so a second `npm start` says so at once instead of after
 * migrations. Port 0 (any free port) is never taken; other listen errors (EACCES) answer false
 * and are left for the real listen to report.
 */
export function portIsTaken(port: number, host: string): Promise<boolean> {
  if (port === 0) return Promise.resolve(false);
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EADDRINUSE'));
    probe.listen(port, host, () => probe.close(() => resolve(false)));
  });
}

/** The one line a start prints when its port is taken. */
export function portTakenMessage(port: number): string {
  return `port ${port} is taken (another stagewise?); set PORT`;
}
