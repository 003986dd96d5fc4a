import 'reflect-metadata';
import { ConfigError, loadConfig } from './app/config';
import { startServer } from './app/server';
import { EmbeddedPostgresError } from './common/db/embedded-postgres';
import { portIsTaken, portTakenMessage } from './common/net';

/** `npm start`: migrate, start, print where to go and how to authenticate. */
async function main(): Promise<void> {
  const config = loadConfig();
  if (await portIsTaken(config.PORT, config.HOST)) {
    console.error(portTakenMessage(config.PORT));
    process.exit(1);
  }
  const server = await startServer(config);
  const lines = [
    '',
    `  stagewise API     ${server.url}/graphql`,
    `  GraphQL IDE       ${server.url}/  (open in a browser)`,
    `  Dashboard         ${server.url}/dashboard#key=<key>  (runs, curves, curricula, live)`,
    `  Bulk NDJSON       ${server.url}/v1/datasets/{name}/samples | /traces`,
    `  Operations        ${server.url}/metrics  /healthz  /readyz`,
    `  Database          ${server.embeddedDataDir ? `embedded PostgreSQL, data in ${server.embeddedDataDir}` : 'DATABASE_URL'}`,
    '',
    '  Authenticate with the header  Authorization: Bearer <key>',
  ];
  if (server.bootstrapKey) {
    lines.push(
      '',
      `  First start: a local ADMIN key was created. It is shown this once:`,
      '',
      `      ${server.bootstrapKey}`,
      '',
      '  Make more with: npm run keys -- create --name NAME --scopes READ,WRITE',
    );
  } else {
    lines.push('  Make a key with: npm run keys -- create --name NAME --scopes READ,WRITE');
  }
  process.stdout.write(lines.join('\n') + '\n\n');

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    server.log.info({ signal }, 'shutting down');
    server
      .close()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        server.log.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof EmbeddedPostgresError) {
    console.error(err.message);
  } else if (err instanceof Error && (err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    // Taken between the check above and the listen.
    console.error(portTakenMessage(loadConfig().PORT));
  } else {
    console.error('stagewise failed to start:', err);
  }
  process.exit(1);
});
