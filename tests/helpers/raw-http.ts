import http from 'node:http';

/** What came back for a request: an answer, or the socket error that ended it first. */
export type RawAnswer =
  | { status: number; headers: http.IncomingHttpHeaders; text: string; json: any }
  | { status: undefined; error: string };

export interface RawRequest {
  method?: string;
  /** Path and query exactly as sent: nothing is encoded or normalised on the way. */
  path: string;
  headers?: Record<string, string>;
  /** Written in order; writing stops once the server has answered. */
  chunks?: Iterable<Buffer>;
  /** Destroy the request after this many chunks (a client gone mid-upload). */
  abortAfterChunks?: number;
}

/**
 * One HTTP request over a plain socket, for bodies fetch would not send (a client vanishing
 * mid-upload, a body the server refuses before reading it all). A server that answers early
 * may reset the socket while the client is still writing: that error is kept, not thrown.
 */
export function rawRequest(baseUrl: string, r: RawRequest): Promise<RawAnswer> {
  const url = new URL(baseUrl);
  return new Promise((resolve) => {
    let answered = false;
    const req = http.request({
      host: url.hostname,
      port: url.port,
      method: r.method ?? 'POST',
      path: r.path,
      headers: r.headers,
      agent: false,
    });
    const finish = (a: RawAnswer) => {
      if (answered) return;
      answered = true;
      resolve(a);
    };
    let responded = false;
    // Once an answer has begun, the response's own events decide (a reset while the client
    // still writes may follow an answer that arrived whole).
    req.on('error', (err) => {
      if (!responded) finish({ status: undefined, error: String(err) });
    });
    req.on('close', () => {
      if (!responded) finish({ status: undefined, error: 'closed without an answer' });
    });
    req.on('response', (res) => {
      responded = true;
      res.on('close', () => finish({ status: undefined, error: 'answer cut short' }));
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('error', (err) => finish({ status: undefined, error: String(err) }));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        finish({ status: res.statusCode!, headers: res.headers, text, json });
      });
    });
    void (async () => {
      let n = 0;
      for (const chunk of r.chunks ?? []) {
        if (answered || req.destroyed) return;
        if (r.abortAfterChunks !== undefined && n >= r.abortAfterChunks) {
          req.destroy();
          return;
        }
        n += 1;
        if (!req.write(chunk)) {
          await new Promise<void>((ok) => {
            const done = () => {
              req.off('drain', done);
              req.off('close', done);
              ok();
            };
            req.on('drain', done);
            req.on('close', done);
          });
        }
      }
      if (!answered && !req.destroyed) req.end();
    })();
  });
}
