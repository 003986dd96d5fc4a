/**
 * A small client for the stagewise API, for the `stagewise` CLI: GraphQL over fetch, the NDJSON
 * bulk endpoints, and graphql-ws subscriptions. Reads STAGEWISE_URL (default
 * http://127.0.0.1:4000) and STAGEWISE_API_KEY. Every failure is an ApiError whose `code` is the
 * server's `extensions.code` (or `error.code` of a REST answer), or CONNECTION when the server
 * could not be reached at all.
 */
import fs from 'node:fs';
import { Readable, Transform } from 'node:stream';
import WebSocket from 'ws';
import { createClient, type Client } from 'graphql-ws';

export const DEFAULT_URL = 'http://127.0.0.1:4000';

/** The codes the API uses, plus CONNECTION (no answer) and PROTOCOL (an answer we cannot read). */
export type ApiErrorCode =
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'INTERNAL'
  | 'SERVICE_UNAVAILABLE'
  | 'CONNECTION'
  | 'PROTOCOL'
  | (string & {});

export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: ApiErrorCode,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The caller cannot fix this by changing the request: no server, or no valid key. */
  get isAccessProblem(): boolean {
    return this.code === 'CONNECTION' || this.code === 'UNAUTHENTICATED';
  }
}

/** A wrong command line: unknown option, missing argument, bad JSON. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface ClientOptions {
  url?: string;
  apiKey?: string;
}

interface GraphQLErrorShape {
  message: string;
  extensions?: { code?: string };
}

/** The message of a fetch failure, with the system error (ECONNREFUSED, ...) when there is one. */
function networkMessage(url: string, err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
  return `cannot reach the stagewise API at ${url} (${why}); is the server running? (STAGEWISE_URL)`;
}

function accessMessage(code: string, message: string): string {
  if (code === 'UNAUTHENTICATED')
    return `${message} — check STAGEWISE_API_KEY (create one with: npm run keys -- create --name me --scopes READ,WRITE)`;
  if (code === 'FORBIDDEN') return `${message} — the key's scopes do not allow this`;
  return message;
}

export class ApiClient {
  readonly url: string;
  readonly apiKey: string | undefined;
  private ws: Client | undefined;

  constructor(options: ClientOptions = {}) {
    this.url = (options.url ?? DEFAULT_URL).replace(/\/+$/, '');
    this.apiKey = options.apiKey;
  }

  static fromEnv(env: NodeJS.ProcessEnv = process.env): ApiClient {
    return new ApiClient({
      url: env.STAGEWISE_URL || DEFAULT_URL,
      apiKey: env.STAGEWISE_API_KEY || undefined,
    });
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}), ...extra };
  }

  private async send(path: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(this.url + path, init);
    } catch (err) {
      throw new ApiError(networkMessage(this.url, err), 'CONNECTION');
    }
  }

  /** A query or mutation; its data, or an ApiError carrying the first error's code. */
  async graphql<T = Record<string, unknown>>(
    query: string,
    variables: Record<string, unknown> = {},
  ): Promise<T> {
    const res = await this.send('/graphql', {
      method: 'POST',
      headers: this.headers({ 'content-type': 'application/json' }),
      body: JSON.stringify({ query, variables }),
    });
    const text = await res.text();
    let body: {
      data?: T;
      errors?: GraphQLErrorShape[];
      error?: GraphQLErrorShape & { code?: string };
    };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new ApiError(
        `unexpected answer from ${this.url}/graphql (HTTP ${res.status}): ${text.slice(0, 200)}`,
        'PROTOCOL',
        res.status,
      );
    }
    const first = body.errors?.[0];
    if (first) {
      const code = first.extensions?.code ?? 'INTERNAL';
      throw new ApiError(accessMessage(code, first.message), code, res.status);
    }
    if (body.error) {
      const code = body.error.code ?? 'INTERNAL';
      throw new ApiError(accessMessage(code, body.error.message), code, res.status);
    }
    if (!res.ok || body.data === undefined) {
      throw new ApiError(`HTTP ${res.status} from ${this.url}/graphql`, 'PROTOCOL', res.status);
    }
    return body.data;
  }

  /**
   * POSTs an NDJSON file to a bulk endpoint (e.g. /v1/datasets/arith/samples), streamed from
   * disk; `onBytes` is called with the bytes sent so far.
   */
  async postNdjsonFile<T = Record<string, unknown>>(
    path: string,
    file: string,
    onBytes?: (sent: number) => void,
  ): Promise<T> {
    let sent = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        sent += chunk.length;
        onBytes?.(sent);
        done(null, chunk);
      },
    });
    const body = Readable.toWeb(fs.createReadStream(file).pipe(counter));
    const res = await this.send(path, {
      method: 'POST',
      headers: this.headers({ 'content-type': 'application/x-ndjson' }),
      body,
      duplex: 'half',
    });
    const text = await res.text();
    type Answer = { error?: { code?: string; message?: string } } & Record<string, unknown>;
    let parsed: Answer;
    try {
      parsed = JSON.parse(text) as Answer;
    } catch {
      throw new ApiError(
        `unexpected answer from ${this.url}${path} (HTTP ${res.status}): ${text.slice(0, 200)}`,
        'PROTOCOL',
        res.status,
      );
    }
    if (!res.ok || parsed.error) {
      const code = parsed.error?.code ?? (res.status >= 500 ? 'INTERNAL' : 'BAD_USER_INPUT');
      throw new ApiError(
        accessMessage(code, parsed.error?.message ?? `HTTP ${res.status}`),
        code,
        res.status,
      );
    }
    return parsed as T;
  }

  /**
   * A graphql-ws subscription on /graphql. The client does not retry by itself: a dropped
   * connection reaches `error` (callers resume with their own afterSeq). Returns the unsubscribe.
   */
  subscribe<T>(
    query: string,
    variables: Record<string, unknown>,
    sink: { next(data: T): void; error(err: ApiError): void; complete(): void },
  ): () => void {
    this.ws ??= createClient({
      url: this.url.replace(/^http/, 'ws') + '/graphql',
      webSocketImpl: WebSocket,
      connectionParams: this.apiKey ? { Authorization: `Bearer ${this.apiKey}` } : {},
      retryAttempts: 0,
      lazy: true,
      lazyCloseTimeout: 0,
    });
    return this.ws.subscribe<T>(
      { query, variables },
      {
        next: (value) => {
          const first = (value.errors as GraphQLErrorShape[] | undefined)?.[0];
          if (first) {
            const code = first.extensions?.code ?? 'INTERNAL';
            sink.error(new ApiError(accessMessage(code, first.message), code));
          } else if (value.data) {
            sink.next(value.data);
          }
        },
        error: (err) => sink.error(subscriptionError(this.url, err)),
        complete: () => sink.complete(),
      },
    );
  }

  /** Closes the WebSocket, if one was opened; a later subscribe opens a new one. */
  async close(): Promise<void> {
    const ws = this.ws;
    this.ws = undefined;
    await ws?.dispose();
  }
}

/** What graphql-ws hands to `error`: GraphQL errors, a CloseEvent, or an Error. */
function subscriptionError(url: string, err: unknown): ApiError {
  if (Array.isArray(err)) {
    const first = err[0] as GraphQLErrorShape | undefined;
    const code = first?.extensions?.code ?? 'INTERNAL';
    return new ApiError(accessMessage(code, first?.message ?? 'subscription refused'), code);
  }
  const close = err as { code?: unknown; reason?: unknown };
  if (typeof close?.code === 'number') {
    if (close.code === 4401 || close.code === 4403) {
      return new ApiError(
        accessMessage('UNAUTHENTICATED', `the server closed the subscription (${close.code})`),
        'UNAUTHENTICATED',
      );
    }
    const reason = typeof close.reason === 'string' && close.reason ? `: ${close.reason}` : '';
    return new ApiError(`subscription connection closed (${close.code}${reason})`, 'CONNECTION');
  }
  return new ApiError(networkMessage(url, err), 'CONNECTION');
}
