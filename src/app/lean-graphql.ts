import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import {
  getOperationAST,
  OperationTypeNode,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ParseOptions,
  type ValidationRule,
} from 'graphql';
import type { Logger } from 'pino';
import { LRUCache } from 'lru-cache';
import type { RequestHandler } from 'express';
import type { RequestContext } from '../common/request-context';
import type { Principal } from '../common/auth/principal';
import { badInput } from '../common/errors';
import { runInRequestScope } from '../common/db/request-scope';
import type { ApiKeyService } from '../modules/api-keys/api-key.service';
import type { CompiledExecutor } from './compiled-executor';
import type { ExecutionGate } from './execution-gate';
import type { Metrics } from './metrics';
import { priceOperation } from './limits';
import { guardOperationInputs, type InputGuardLimits } from './input-guard';
import { documentNesting, valueNesting } from './document-nesting';
import { redactRequest } from './log-redaction';
import { parseBearer, rememberAuthentication } from './auth.middleware';
import { requestIdFor } from './request-id';

/**
 * The lean path for the common request: POST /graphql with a JSON body, a bearer key, a query
 * operation whose document is known (parsed and validated before), and an answer without
 * errors. It runs on the raw HTTP server ahead of Express and Apollo, whose per-request
 * machinery (router, body parser, pino-http's child loggers, Apollo's request pipeline and its
 * plugin hooks) cost more CPU than a small page itself.
 *
 * It answers only what it can answer exactly as the full stack would, with the same checks in
 * the same order: the key (apiKeys.authenticate, cached as for Express), the nesting limit, the
 * parse with its token limit, validation with the depth, alias and directive rules, the input
 * guard, the complexity limit, execution by the same compiled executor, the same body bytes and
 * headers, one request log line with the same fields and redaction, and the same metrics.
 * Everything else - another method, path, content type or encoding, no key, a document that
 * fails any check, a mutation, an answer with errors - is handed to the full stack unchanged
 * (with its body, when already read), which then answers, refuses, logs and counts it as it
 * always has. A query is a read, so running one again there after an error here changes
 * nothing but the time it takes.
 */

export interface LeanGraphQLOptions {
  schema: GraphQLSchema;
  executor: CompiledExecutor;
  apiKeys: ApiKeyService;
  log: Logger;
  metrics: Metrics;
  contextOf: (req: { id: unknown; log: Logger; principal?: Principal }) => RequestContext;
  /** Apollo's validation rules beyond graphql-js's own (the armor limits). */
  validationRules: ValidationRule[];
  parseOptions: ParseOptions;
  inputLimits: InputGuardLimits;
  maxComplexity: number;
  /** GRAPHQL_BODY_LIMIT in bytes: a body that may be longer goes to the full stack. */
  bodyLimitBytes: number;
  /** Reads executing at once (GRAPHQL_MAX_CONCURRENT_READS; see ExecutionGate). */
  gate: ExecutionGate;
}

/** Plays the rest of a request on the full stack (the Express app). */
export type FullStack = (req: IncomingMessage, res: ServerResponse) => void;

/** What the lean path read of a body it then handed over: the parsed JSON, or why it is none. */
type PreRead = { body: unknown } | { error: unknown };

const preRead = new WeakMap<IncomingMessage, PreRead>();

/**
 * In front of the JSON body parser on /graphql: a body the lean path read already is taken as
 * it parsed it (or refused with the error body-parser would have raised); any other request is
 * parsed by `parser`.
 */
export function preReadBodyOr(parser: RequestHandler): RequestHandler {
  return (req, res, next) => {
    const read = preRead.get(req);
    if (!read) {
      parser(req, res, next);
      return;
    }
    if ('error' in read) {
      next(read.error);
      return;
    }
    req.body = read.body;
    next();
  };
}

/** A known document: parsed, validated and nested within the limit, or refused (`false`). */
type KnownDocument = { document: DocumentNode; guardedWithoutVariables: Set<string> } | false;

/** Distinct query texts kept; a client's queries are few, a scanner's are not kept. */
const MAX_DOCUMENTS = 500;

/** Only these exact header values are ones whose answer the lean path knows. */
const JSON_TYPES = new Set(['application/json', 'application/json; charset=utf-8']);
const PLAIN_ACCEPTS = new Set(['*/*', 'application/json']);

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The error body-parser raises for a body that is not a JSON object or array. */
function notJson(): Error {
  return Object.assign(new Error('The request body is not valid JSON'), {
    type: 'entity.parse.failed',
    status: 400,
    expose: true,
  });
}

export class LeanGraphQL {
  private readonly documents = new LRUCache<string, KnownDocument>({ max: MAX_DOCUMENTS });
  private readonly rules: ValidationRule[];
  /** Requests the lean path answered itself (tests tell the two paths apart by it). */
  answered = 0;

  constructor(private readonly opts: LeanGraphQLOptions) {
    this.rules = [...specifiedRules, ...opts.validationRules];
  }

  /** The server's request listener: the lean path where it applies, the full stack otherwise. */
  listener(fullStack: FullStack): (req: IncomingMessage, res: ServerResponse) => void {
    return (req, res) => {
      if (!this.applies(req)) {
        fullStack(req, res);
        return;
      }
      runInRequestScope(req, () => this.serve(req, res, fullStack));
    };
  }

  /** Decided from the request line and headers alone, before any byte of the body is read. */
  private applies(req: IncomingMessage): boolean {
    const h = req.headers;
    if (req.method !== 'POST' || req.url !== '/graphql') return false;
    const type = h['content-type'];
    if (!type || !JSON_TYPES.has(type.toLowerCase())) return false;
    if (h['content-encoding'] !== undefined || h['transfer-encoding'] !== undefined) return false;
    if (h.accept !== undefined && !PLAIN_ACCEPTS.has(h.accept)) return false;
    const length = Number(h['content-length']);
    if (!(length > 0 && length <= this.opts.bodyLimitBytes)) return false;
    return parseBearer(h.authorization) !== undefined;
  }

  private serve(req: IncomingMessage, res: ServerResponse, fullStack: FullStack): void {
    const started = Date.now();
    const startedHr = process.hrtime.bigint();
    const token = parseBearer(req.headers.authorization)!;
    const principal = this.opts.apiKeys.authenticate(token).then((who) => {
      rememberAuthentication(req, who);
      return who;
    });
    // Nothing is logged or counted here once the full stack has the request: it does both.
    let handedOver = false;
    const handOver = (read: PreRead | undefined) => {
      if (handedOver) return;
      handedOver = true;
      if (read) preRead.set(req, read);
      fullStack(req, res);
    };
    // Whatever the lean path has not answered by the time the request fails is logged as
    // pino-http logs it (`request aborted`).
    let logged = false;
    const logLine = () => {
      if (handedOver || logged) return;
      logged = true;
      this.logRequest(req, res, started);
    };
    res.once('finish', logLine);
    res.once('close', logLine);

    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => {
      runInRequestScope(req, () => {
        const read = readJson(Buffer.concat(chunks));
        if ('error' in read) {
          // A body the parser refuses is refused by the full stack, after its key check (the
          // lookup made here, once it is back).
          principal.then(
            () => handOver(read),
            () => handOver(read),
          );
          return;
        }
        principal
          .then((who) => this.answer(req, res, read.body, who))
          .then(
            (answered) => {
              if (answered === 'gone') return;
              if (answered) {
                this.answered++;
                this.opts.metrics.observeLeanGraphQL(
                  { status: 200, operation: 'query', name: answered.operationName },
                  Number(process.hrtime.bigint() - startedHr) / 1e9,
                );
              } else handOver(read);
            },
            () => handOver(read),
          );
      });
    });
  }

  /**
   * Answers the request if it is the common case; otherwise resolves `undefined` having written
   * nothing, and the full stack takes over.
   */
  private async answer(
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
    principal: Principal | null,
  ): Promise<{ operationName: string | null } | 'gone' | undefined> {
    if (!principal) return undefined;
    const request = graphQLRequestOf(body);
    if (!request) return undefined;
    const { query, operationName, variables } = request;
    const limits = this.opts.inputLimits;
    if (variables && valueNesting(variables, limits.maxNesting) > limits.maxNesting) {
      return undefined;
    }
    const known = this.known(query);
    if (!known) return undefined;
    const { document } = known;
    const operation = getOperationAST(document, operationName ?? undefined);
    if (operation?.operation !== OperationTypeNode.QUERY) return undefined;
    if (!this.inputsPass(known, { query, operationName, variables })) return undefined;
    let price: number;
    try {
      price = priceOperation(this.opts.schema, document, { operationName, variables });
    } catch {
      return undefined;
    }
    if (price > this.opts.maxComplexity) return undefined;

    // Executed, encoded and written inside its turn: what a read allocates dies within it.
    return this.opts.gate.run(() =>
      this.execute(req, res, { ...request, document, operation }, principal),
    );
  }

  /** Executes a known query, and answers it when it has no error. */
  private async execute(
    req: IncomingMessage,
    res: ServerResponse,
    request: GraphQLRequest & { document: DocumentNode; operation: OperationDefinitionNode },
    principal: Principal,
  ): Promise<{ operationName: string | null } | 'gone' | undefined> {
    // The client may have left while the request waited for its turn.
    if (res.destroyed) return 'gone';
    const { query, operationName, variables, document, operation } = request;
    const id = requestIdFor(req, res);
    const context = this.contextFor(req, id, principal);
    const result = await this.opts.executor.run({
      source: query,
      document,
      operation,
      operationName,
      variables: variables ?? undefined,
      context,
    });
    // The client left: the line `request aborted` is written already; nothing to answer.
    if (res.destroyed) return 'gone';
    if (result.errors?.length || result.data === undefined) {
      // The full stack sets its own (it may be another id when the client sent none).
      res.removeHeader('x-request-id');
      return undefined;
    }
    // Apollo's serialisation of an answer without errors, and Express's res.send headers. The
    // body is encoded once: as a string, its length, its ETag hash and the socket write each
    // encoded it again, and two of them left a copy of a large body on the heap.
    const bytes = Buffer.from(JSON.stringify({ data: result.data }) + '\n');
    res.statusCode = 200;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.setHeader('content-length', String(bytes.length));
    res.setHeader('etag', weakEtag(bytes));
    res.end(bytes);
    // As Apollo names it: the operation's own name, whatever the client sent.
    return { operationName: operation.name?.value ?? null };
  }

  /** The query text's document, parsed and validated once; `false` when refused. */
  private known(query: string): KnownDocument {
    let known = this.documents.get(query);
    if (known !== undefined) return known;
    known = false;
    // Introspection is off in production (Apollo's own rule); the full stack decides it.
    if (
      documentNesting(query) <= this.opts.inputLimits.maxNesting &&
      !/__(schema|type)\b/.test(query)
    ) {
      try {
        const document = parse(query, this.opts.parseOptions);
        if (!validate(this.opts.schema, document, this.rules).length) {
          known = { document, guardedWithoutVariables: new Set() };
        }
      } catch {
        known = false;
      }
    }
    this.documents.set(query, known);
    return known;
  }

  /** The input guard; without variables its verdict is the document's, so it is kept. */
  private inputsPass(
    known: Exclude<KnownDocument, false>,
    request: {
      query: string;
      operationName: string | null;
      variables: Record<string, unknown> | null;
    },
  ): boolean {
    const name = request.operationName ?? '';
    const plain = !request.variables || Object.keys(request.variables).length === 0;
    if (plain && known.guardedWithoutVariables.has(name)) return true;
    try {
      guardOperationInputs(this.opts.schema, known.document, request, this.opts.inputLimits);
    } catch {
      return false;
    }
    if (plain) known.guardedWithoutVariables.add(name);
    return true;
  }

  /**
   * The request's context, as the full stack builds it; its logger (pino-http's child with the
   * request bound, which serialises the headers) is made only if a resolver logs.
   */
  private contextFor(req: IncomingMessage, id: string, principal: Principal): RequestContext {
    const log = this.opts.log;
    const context = this.opts.contextOf({ id, log, principal });
    let child: Logger | undefined;
    Object.defineProperty(context, 'log', {
      enumerable: true,
      configurable: true,
      get: () => (child ??= log.child({ req: this.loggedRequest(req, id) })),
      set: (value: Logger) => {
        child = value;
      },
    });
    return context;
  }

  /** The request as pino-http's serializer, wrapped in redactRequest, writes it. */
  private loggedRequest(req: IncomingMessage, id: string): Record<string, unknown> {
    return redactRequest({
      id,
      method: req.method,
      url: req.url,
      query: {},
      params: {},
      headers: req.headers,
      remoteAddress: req.socket.remoteAddress,
      remotePort: req.socket.remotePort,
    });
  }

  /** pino-http's line: the request, the response's status and headers, the time taken. */
  private logRequest(req: IncomingMessage, res: ServerResponse, started: number): void {
    const id = res.getHeader('x-request-id');
    this.opts.log.info(
      {
        req: this.loggedRequest(req, typeof id === 'string' ? id : ''),
        res: { statusCode: res.headersSent ? res.statusCode : null, headers: res.getHeaders() },
        responseTime: Date.now() - started,
      },
      !req.readableAborted && res.writableEnded ? 'request completed' : 'request aborted',
    );
  }
}

/** The body as express.json (strict, UTF-8 only) would parse it, or its error. */
function readJson(bytes: Buffer): PreRead {
  let text: string;
  try {
    // Drops a byte order mark, as body-parser's decoder does.
    text = fatalUtf8.decode(bytes);
  } catch {
    return { error: badInput('The request body is not valid UTF-8') };
  }
  // body-parser's strict mode: an object or an array, after JSON's own whitespace.
  const first = /^[ \t\n\r]*(.)/.exec(text)?.[1];
  if (first !== '{' && first !== '[') return { error: notJson() };
  try {
    return { body: JSON.parse(text) as unknown };
  } catch {
    return { error: notJson() };
  }
}

interface GraphQLRequest {
  query: string;
  operationName: string | null;
  variables: Record<string, unknown> | null;
}

/** The GraphQL request in a POST body, when it is one the lean path knows how to answer. */
function graphQLRequestOf(body: unknown): GraphQLRequest | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if (key !== 'query' && key !== 'operationName' && key !== 'variables') return undefined;
  }
  const { query, operationName, variables } = b;
  if (typeof query !== 'string' || !query) return undefined;
  if (operationName != null && typeof operationName !== 'string') return undefined;
  if (variables != null && (typeof variables !== 'object' || Array.isArray(variables))) {
    return undefined;
  }
  return {
    query,
    operationName: operationName ?? null,
    variables: (variables as Record<string, unknown> | null | undefined) ?? null,
  };
}

/** Express's ETag for a body (res.send): weak, the byte length and a SHA-1 of the bytes. */
function weakEtag(body: Buffer): string {
  const hash = createHash('sha1').update(body).digest('base64').substring(0, 27);
  return `W/"${body.length.toString(16)}-${hash}"`;
}

/** A body limit as body-parser reads it ("2mb", "512kb", "1000"); NaN when not one. */
export function limitInBytes(limit: string | number): number {
  if (typeof limit === 'number') return limit;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(limit);
  if (!match) return NaN;
  const unit = { b: 1, kb: 2 ** 10, mb: 2 ** 20, gb: 2 ** 30 }[(match[2] ?? 'b').toLowerCase()]!;
  return Math.floor(Number(match[1]) * unit);
}
