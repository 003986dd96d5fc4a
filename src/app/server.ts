import 'reflect-metadata';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import type { DataSource } from 'typeorm';
import type { Config } from './config';
import { createRequestContext, type RequestContext } from '../common/request-context';
import { buildAppSchema } from './schema';
import { CompiledExecutor, DEFAULT_MAX_COMPILED } from './compiled-executor';
import { ExecutionGate } from './execution-gate';
import { GlobalIdLeaves } from '../common/global-id-leaves';
import { createServices, type Services } from './services';
import { armor, complexityPlugin } from './limits';
import { inputGuardPlugin } from './input-guard';
import { nestingGuard } from './document-nesting';
import { authenticate } from './auth.middleware';
import { httpErrorHandler } from './http-errors';
import { jsonBody } from '../common/body-charset';
import { mountIde } from './ide';
import { mountDashboard } from './dashboard';
import { mountSubscriptions } from './subscriptions';
import { createApiLogger, redactRequest } from './log-redaction';
import { LeanGraphQL, limitInBytes, preReadBodyOr } from './lean-graphql';
import { requestIdFor } from './request-id';
import { Metrics } from './metrics';
import { readyzHandler } from './health';
import { openDatabaseTarget, type DatabaseTarget } from '../common/db/database';
import type { StatementCounter } from '../common/db/data-source';
import { createAppDataSource } from './data-source';
import { guardDataSourceErrors } from '../common/db/pool-errors';
import { enterRequestScope } from '../common/db/request-scope';
import { serverSecret } from '../common/db/server-secrets';
import { formatGraphQLError } from '../common/errors';
import { CursorCodec } from '../common/pagination';
import { bulkRouter } from '../modules/bulk/bulk.router';
import { manifestExportRouter } from '../modules/manifests/manifest-export.router';
import { runnerRouter } from '../modules/runs/runner.router';
import { ApiKeyScope } from '../modules/api-keys/api-key.entity';
import { createAnnouncer, type AnnouncementBus } from '../common/pubsub';
import type { Principal } from '../common/auth/principal';

export interface RunningServer {
  url: string;
  port: number;
  ds: DataSource;
  services: Services;
  log: Logger;
  /** Live updates: publish after a commit; subscriptions listen on it. */
  announcer: AnnouncementBus;
  /** Printed once at first start on the embedded default; undefined otherwise. */
  bootstrapKey?: string;
  /** Where the embedded PostgreSQL keeps its data, when this process started it. */
  embeddedDataDir?: string;
  /** POST /graphql requests the lean path answered ahead of Express and Apollo (tests). */
  leanAnswered(): number;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Counts SQL statements (tests). */
  counter?: StatementCounter;
  logger?: Logger;
}

/**
 * On the embedded default, with no key yet and outside production, make a local ADMIN key so the
 * first user can get in. The caller prints it; it is never stored in clear.
 */
async function bootstrapAdminKey(config: Config, services: Services): Promise<string | undefined> {
  if (!config.usesEmbeddedPostgres || !config.BOOTSTRAP_ADMIN_KEY) return undefined;
  if (config.NODE_ENV === 'production' || (await services.apiKeys.count()) > 0) return undefined;
  const { key } = await services.apiKeys.create({
    name: 'local-admin',
    scopes: [ApiKeyScope.ADMIN],
  });
  return key;
}

export async function startServer(config: Config, opts: StartOptions = {}): Promise<RunningServer> {
  const log = opts.logger ?? createApiLogger(config.LOG_LEVEL);
  let target: DatabaseTarget | undefined;
  let ds: DataSource | undefined;
  let announcer: AnnouncementBus | undefined;
  try {
    target = await openDatabaseTarget(config, (line) => log.debug({ postgres: line }));
    ds = createAppDataSource(target.url, { poolSize: config.DB_POOL_SIZE, counter: opts.counter });
    await ds.initialize();
    // A database restart must not end the process through an unheard client 'error'.
    guardDataSourceErrors(ds, log);
    const applied = await ds.runMigrations({ transaction: 'each' });
    if (applied.length) log.info({ migrations: applied.map((m) => m.name) }, 'migrations applied');
    // [live updates] listening before anything can subscribe or publish.
    announcer = await createAnnouncer(config, ds, log);
    return await listen(config, log, ds, announcer, target);
  } catch (err) {
    await announcer?.close();
    if (ds?.isInitialized) await ds.destroy();
    await target?.embedded?.stop();
    throw err;
  }
}

async function listen(
  config: Config,
  log: Logger,
  ds: DataSource,
  announcer: AnnouncementBus,
  target: DatabaseTarget,
): Promise<RunningServer> {
  const cursors = new CursorCodec(await serverSecret(ds, 'cursor_secret'));
  // Runners call back on this URL; it is known once the server listens, before any run starts.
  let url = '';
  const services = createServices({
    config,
    ds,
    live: announcer,
    cursors,
    databaseUrl: target.url,
    log,
    publicUrl: () => config.PUBLIC_URL ?? url,
  });
  const contextOf = (req: { id: unknown; log: Logger; principal?: Principal }): RequestContext =>
    createRequestContext({ ds, cursors, announcements: announcer }, req);
  const bootstrapKey = await bootstrapAdminKey(config, services);
  const schema = await buildAppSchema(announcer.pubSub, services);

  const app = express();
  app.disable('x-powered-by');
  app.use(enterRequestScope);
  // Per server, not prom-client's global registry: the tests run several servers in a process.
  const metrics = new Metrics();
  app.use(metrics.httpMiddleware());
  const httpServer = http.createServer();
  // Bulk imports stream gigabytes for minutes; Node's default 300 s body deadline would cut them.
  // Headers still have to arrive within headersTimeout.
  httpServer.requestTimeout = 0;
  // Once close() begins, every answer tells its keep-alive client to go (Connection: close), so a
  // client that keeps sending cannot hold its socket, and the drain below ends.
  let stopping = false;
  httpServer.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    if (stopping) res.shouldKeepAlive = false;
  });
  app.use(
    pinoHttp({
      logger: log,
      // Keys arrive in the Authorization header and, from some clients, in the query string.
      serializers: { req: redactRequest },
      genReqId: requestIdFor,
      // Static assets of the IDE and the dashboard would drown the request log.
      autoLogging: {
        ignore: (req) => /^\/(ide-assets|dashboard)\//.test(req.url ?? ''),
      },
    }),
  );

  const armored = armor(config);
  const inputLimits = {
    maxNesting: config.GRAPHQL_MAX_NESTING,
    jsonMaxDepth: config.JSON_MAX_DEPTH,
  };
  const executor = new CompiledExecutor(schema, DEFAULT_MAX_COMPILED, new GlobalIdLeaves(schema));
  const apollo = new ApolloServer<RequestContext>({
    // main.ts owns SIGTERM/SIGINT and calls close(). Apollo's own handler would call stop() beside
    // ours, and a second stop() that arrives while the first still drains awaits a barrier Apollo
    // never resolves on success: the process hung under load (issue 9).
    stopOnTerminationSignals: false,
    // Queries run compiled (graphql-jit); Apollo still parses, validates and formats.
    gateway: executor.asApolloGateway(),
    plugins: [
      ...armored.plugins,
      inputGuardPlugin(schema, inputLimits),
      complexityPlugin(schema, config.MAX_QUERY_COMPLEXITY),
      metrics.apolloPlugin(),
      // Stops accepting, ends idle sockets, waits for answers in flight, and after the grace
      // period destroys whatever is still open.
      ApolloServerPluginDrainHttpServer({
        httpServer,
        stopGracePeriodMillis: config.SHUTDOWN_GRACE_MS,
      }),
      // Each of these hooks every resolved field when on; nothing here reads cache hints,
      // traces or usage reports, so they cost a large response thousands of calls for nothing.
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
    ],
    validationRules: armored.validationRules,
    parseOptions: armored.parseOptions,
    includeStacktraceInErrorResponses: false,
    formatError: (formatted, error) =>
      formatGraphQLError(formatted, error, (err) => log.error({ err }, 'unexpected error')),
  });
  await apollo.start();

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', readyzHandler(ds, config.READYZ_TIMEOUT_MS));
  app.get('/metrics', metrics.handler(config.METRICS_TOKEN));
  mountIde(app);
  mountDashboard(app);
  // [live updates] graphql-ws upgrades on /graphql, graphql-sse on /graphql/stream (before
  // Apollo's /graphql, which would otherwise take /graphql/stream as its own).
  const subscriptions = mountSubscriptions(app, httpServer, {
    config,
    schema,
    ds,
    services,
    cursors,
    log,
  });
  metrics.attach({ ds, log, liveSubscriptions: () => subscriptions.live() });
  app.use(
    '/graphql',
    authenticate(services.apiKeys, 'graphql'),
    preReadBodyOr(jsonBody(config.GRAPHQL_BODY_LIMIT)),
    nestingGuard(config.GRAPHQL_MAX_NESTING),
    enterRequestScope,
    expressMiddleware(apollo, {
      context: ({ req }) => Promise.resolve(contextOf(req)),
    }),
  );
  app.use('/v1', authenticate(services.apiKeys, 'rest'));
  app.use(
    '/v1/runs/:runId',
    runnerRouter({ config, contextOf, services }, { eventsStored: (n) => metrics.eventsStored(n) }),
  );
  app.use('/v1', bulkRouter({ config, contextOf, services }));
  app.use('/v1', manifestExportRouter({ config, contextOf, services }));
  app.use(httpErrorHandler(log));
  // The common read (a known query document, a key, an answer without errors) is answered ahead
  // of Express and Apollo with the same checks, bytes, log line and metrics; everything else
  // goes to the app above unchanged (see lean-graphql.ts). Armor plugins would be request hooks
  // the lean path does not run, so with any configured every request takes the full stack.
  const lean = new LeanGraphQL({
    schema,
    executor,
    apiKeys: services.apiKeys,
    log,
    metrics,
    contextOf,
    validationRules: armored.validationRules,
    parseOptions: armored.parseOptions,
    inputLimits,
    maxComplexity: config.MAX_QUERY_COMPLEXITY,
    bodyLimitBytes: armored.plugins.length ? 0 : limitInBytes(config.GRAPHQL_BODY_LIMIT),
    gate: new ExecutionGate(config.GRAPHQL_MAX_CONCURRENT_READS),
  });
  httpServer.on('request', lean.listener(app));

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.PORT, config.HOST, () => resolve());
  });
  const { port } = httpServer.address() as AddressInfo;
  url = `http://${config.HOST}:${port}`;
  await services.background.start();
  return {
    url,
    port,
    ds,
    services,
    log,
    announcer,
    bootstrapKey,
    embeddedDataDir: target.embedded?.dataDir,
    leanAnswered: () => lean.answered,
    async close() {
      // Runs and subscriptions first, so nothing reads from a pool that is going away. Live
      // runners keep running: the next API process reconciles and adopts them.
      stopping = true;
      await services.background.stop();
      await subscriptions.close();
      await apollo.stop();
      await announcer.close();
      await ds.destroy();
      await target.embedded?.stop();
    },
  };
}
