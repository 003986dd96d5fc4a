import type http from 'node:http';
import express, { type Express, type Response } from 'express';
import {
  GraphQLError,
  getOperationAST,
  parse,
  specifiedRules,
  validate,
  OperationTypeNode,
  type DocumentNode,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import { CloseCode } from 'graphql-ws';
import { WebSocketServer } from 'ws';
import { createHandler as createSseHandler } from 'graphql-sse/lib/use/express';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { Config } from './config';
import { createRequestContext, type RequestContext } from '../common/request-context';
import type { Services } from './services';
import { armor, priceOperation } from './limits';
import { guardOperationInputs, guardRequestSource } from './input-guard';
import { authenticate, parseBearer } from './auth.middleware';
import type { Principal } from '../common/auth/principal';
import { formatGraphQLError } from '../common/errors';
import type { CursorCodec } from '../common/pagination';
import { sharedSubscribe } from './shared-subscribe';
import { serveGraphqlWs } from './ws-server';

/** Where subscriptions are served, on the API's one HTTP port. */
export const WS_PATH = '/graphql';
export const SSE_PATH = '/graphql/stream';

export interface SubscriptionDeps {
  config: Config;
  schema: GraphQLSchema;
  ds: DataSource;
  services: Services;
  cursors: CursorCodec;
  log: Logger;
}

export interface SubscriptionTransports {
  /** Ends every live subscription (WebSocket close 1001, event streams ended). */
  close(): Promise<void>;
  /** Subscriptions open now, per transport (the live-subscriptions gauge). */
  live(): { ws: number; sse: number };
}

interface Operation {
  query?: string | null;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
}

/** graphql-sse wants an index signature on the context; ours is a plain interface. */
type SseContext = RequestContext & Record<PropertyKey, unknown>;

const userError = (message: string, extensions: Record<string, unknown> = {}) =>
  new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', ...extensions } });

/** Parse and validation errors carry no code of their own; they are the client's mistake. */
const asUserError = (e: GraphQLError) =>
  e.extensions.code
    ? e
    : new GraphQLError(e.message, {
        nodes: e.nodes,
        source: e.source,
        positions: e.positions,
        extensions: { ...e.extensions, code: 'BAD_USER_INPUT' },
      });

/**
 * The same gate as POST /graphql (token limit, depth/alias/directive rules, complexity), for
 * both transports. Only subscriptions come this way: queries and mutations go through Apollo,
 * whose plugins these transports do not run.
 */
function makeGate(config: Config, schema: GraphQLSchema) {
  const { validationRules, parseOptions } = armor(config);
  const rules = [...specifiedRules, ...validationRules];
  const limits = { maxNesting: config.GRAPHQL_MAX_NESTING, jsonMaxDepth: config.JSON_MAX_DEPTH };
  return (op: Operation): { document: DocumentNode } | GraphQLError[] => {
    if (!op.query) return [userError('The operation has no query')];
    let document: DocumentNode;
    try {
      guardRequestSource(op, limits);
      document = parse(op.query, parseOptions);
    } catch (err) {
      if (err instanceof GraphQLError) return [asUserError(err)];
      throw err;
    }
    const invalid = validate(schema, document, rules);
    if (invalid.length) return invalid.map(asUserError);
    const operation = getOperationAST(document, op.operationName ?? undefined);
    if (!operation) return [userError('Name the operation to run (operationName)')];
    if (operation.operation !== OperationTypeNode.SUBSCRIPTION) {
      return [
        userError(
          'Only subscriptions are served here; send queries and mutations to POST /graphql',
        ),
      ];
    }
    try {
      const complexity = priceOperation(schema, document, op);
      if (complexity > config.MAX_QUERY_COMPLEXITY) {
        return [
          userError(`The query is too complex: ${complexity} > ${config.MAX_QUERY_COMPLEXITY}.`, {
            complexity,
            maxComplexity: config.MAX_QUERY_COMPLEXITY,
          }),
        ];
      }
      guardOperationInputs(schema, document, op, limits);
    } catch (err) {
      if (err instanceof GraphQLError) return [asUserError(err)];
      throw err;
    }
    return { document };
  };
}

/** connectionParams { Authorization: 'Bearer <key>' } (browsers cannot set upgrade headers), else the header. */
function wsToken(params: Record<string, unknown> | undefined, req: http.IncomingMessage) {
  const given = params?.Authorization ?? params?.authorization ?? req.headers.authorization;
  return parseBearer(given);
}

/** graphql-ws at WS_PATH and graphql-sse at SSE_PATH; mount before Apollo's /graphql. */
export function mountSubscriptions(
  app: Express,
  httpServer: http.Server,
  deps: SubscriptionDeps,
): SubscriptionTransports {
  const { config, schema, log } = deps;
  const gate = makeGate(config, schema);
  const logUnknown = (err: unknown) => log.error({ err }, 'unexpected error');
  const format = (errors: readonly GraphQLError[]): GraphQLFormattedError[] =>
    errors.map((e) => formatGraphQLError(e.toJSON(), e, logUnknown));
  // Both libraries send what onNext returns as is, so formatted errors replace the raw ones.
  // Shared results (below) come formatted already: their errors are no longer GraphQLErrors.
  const formatResult = <R extends { errors?: readonly GraphQLError[] }>(result: R): R =>
    result.errors?.some((e) => e instanceof GraphQLError)
      ? { ...result, errors: format(result.errors) }
      : result;
  // One execution per event and operation, for all subscribers of a run (shared-subscribe.ts).
  const subscribe = sharedSubscribe({
    audienceOf: (context) => {
      const { principal } = context as RequestContext;
      return `${[...principal.scopes].sort().join(',')}/${principal.runId ?? ''}`;
    },
    finish: formatResult,
  });
  const contextFor = (req: { id: unknown; log: Logger; principal?: Principal }): RequestContext =>
    createRequestContext(
      { ds: deps.ds, cursors: deps.cursors, announcements: deps.services.announcements },
      req,
    );

  // --- graphql-ws (WebSocket) ---
  const wss = new WebSocketServer({ server: httpServer, path: WS_PATH });
  let connections = 0;
  // Connections' own subscription maps, read at scrape time: nothing to keep in step.
  const open = new Set<{ subscriptions: Record<string, unknown> }>();
  const ws = serveGraphqlWs<
    Record<string, unknown>,
    { principal: Principal; connectionId: number }
  >(
    {
      schema,
      subscribe,
      async onConnect(ctx) {
        const token = wsToken(ctx.connectionParams, ctx.extra.request);
        const principal = token ? await deps.services.apiKeys.authenticate(token) : null;
        if (!principal) {
          // 4401 is graphql-ws's "Unauthorized"; its client does not retry it.
          ctx.extra.socket.close(
            CloseCode.Unauthorized,
            token ? 'The API key is unknown or revoked' : 'Send connectionParams.Authorization',
          );
          return false;
        }
        ctx.extra.principal = principal;
        ctx.extra.connectionId = ++connections;
        open.add(ctx);
        return true;
      },
      onClose(ctx) {
        open.delete(ctx);
      },
      onSubscribe(ctx, id, payload) {
        const checked = gate(payload);
        if (Array.isArray(checked)) return checked;
        const { principal, connectionId } = ctx.extra;
        const requestId = `ws-${connectionId}-${id}`;
        return {
          schema,
          document: checked.document,
          variableValues: payload.variables,
          operationName: payload.operationName,
          contextValue: contextFor({
            id: requestId,
            log: log.child({ reqId: requestId, transport: 'ws' }),
            principal,
          }),
        };
      },
      onNext: (_ctx, _id, _payload, _args, result) => formatResult(result),
      onError: (_ctx, _id, _payload, errors) => format(errors),
    },
    wss,
    log,
  );

  // --- graphql-sse (Server-Sent Events), distinct connections mode: one request per operation ---
  const streams = new Set<Response>();
  const sse = createSseHandler<SseContext>({
    schema,
    subscribe,
    // The gate in onSubscribe validated already, with the full rule set.
    validate: () => [],
    onSubscribe(req, params) {
      const checked = gate(params);
      // Streamed as one event carrying the errors; onNext formats them.
      if (Array.isArray(checked)) return { data: null, errors: checked };
      return {
        schema,
        document: checked.document,
        variableValues: params.variables,
        operationName: params.operationName,
        contextValue: contextFor(req.raw) as SseContext,
      };
    },
    onNext: (_ctx, _req, result) => formatResult(result),
  });
  app.use(
    SSE_PATH,
    authenticate(deps.services.apiKeys, 'graphql'),
    express.json({ limit: config.GRAPHQL_BODY_LIMIT }),
    (req, res, next) => {
      streams.add(res);
      res.once('close', () => streams.delete(res));
      sse(req, res).catch(next);
    },
  );

  return {
    async close() {
      for (const res of streams) res.end();
      await ws.dispose();
    },
    live() {
      let live = 0;
      for (const ctx of open) live += Object.keys(ctx.subscriptions).length;
      return { ws: live, sse: streams.size };
    },
  };
}
