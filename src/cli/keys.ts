import 'reflect-metadata';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { loadConfig } from '../app/config';
import { createAnnouncer } from '../common/pubsub';
import { fail, withDatabase } from './with-database';
import { ApiKeyService } from '../modules/api-keys/api-key.service';
import { ApiKey, ApiKeyScope } from '../modules/api-keys/api-key.entity';
import { toGlobalId } from '../common/ids';

const USAGE = `Usage:
  npm run keys -- create --name NAME --scopes READ[,WRITE][,ADMIN] [--json]
  npm run keys -- list [--json]
  npm run keys -- revoke ID|PREFIX`;

const USER_SCOPES = new Set<string>([ApiKeyScope.READ, ApiKeyScope.WRITE, ApiKeyScope.ADMIN]);

/** The parsed arguments; an unknown option fails with the usage, like any other wrong call. */
function parseCommandLine(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: { name: { type: 'string' }, scopes: { type: 'string' }, json: { type: 'boolean' } },
    });
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
  }
}

/** `npm run keys`: create, list and revoke API keys directly in the database. */
async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseCommandLine(argv);
  const [command, target] = positionals;
  if (command === 'create') {
    const scopes = (values.scopes ?? '')
      .split(',')
      .map((s) => s.trim().toUpperCase())
      .filter(Boolean);
    if (!values.name || scopes.length === 0)
      throw new Error(`create needs --name and --scopes\n${USAGE}`);
    const unknown = scopes.filter((s) => !USER_SCOPES.has(s));
    if (unknown.length)
      throw new Error(`Unknown scope(s): ${unknown.join(', ')}; use READ, WRITE, ADMIN`);
    const name = values.name;
    await withDatabase(async (ds) => {
      const { apiKey, key } = await new ApiKeyService(ds).create({
        name,
        scopes: scopes as ApiKeyScope[],
      });
      if (values.json) {
        console.log(
          JSON.stringify({ id: toGlobalId('ApiKey', apiKey.id), name, scopes: apiKey.scopes, key }),
        );
      } else {
        console.log(
          `Created key "${name}" (${apiKey.scopes.join(', ')}), id ${apiKey.id}. Shown once:\n\n  ${key}\n`,
        );
      }
    });
  } else if (command === 'list') {
    await withDatabase(async (ds) => {
      const keys = await ds.getRepository(ApiKey).find({ order: { id: 'ASC' } });
      const rows = keys.map((k) => ({
        id: k.id,
        name: k.name,
        prefix: k.prefix,
        scopes: k.scopes.join(','),
        run: k.runId ?? '',
        revoked: k.revokedAt?.toISOString() ?? '',
        lastUsed: k.lastUsedAt?.toISOString() ?? '',
      }));
      if (values.json) console.log(JSON.stringify(rows));
      else console.table(rows);
    });
  } else if (command === 'revoke' && target) {
    await withDatabase(async (ds) => {
      // Running API processes cache keys: the announcement makes them drop this one at once.
      // Without it (Redis down) the key is still revoked: a leaked key must not stay valid
      // because the bus is away; the servers then drop it within their cache TTL.
      const config = loadConfig();
      const bus = await createAnnouncer(config, ds, pino({ level: 'silent' })).catch(
        (err: unknown) => {
          console.error(
            `Warning: could not announce the revoke (${err instanceof Error ? err.message : String(err)}); ` +
              `running servers refuse the key within API_KEY_CACHE_TTL_MS (${config.API_KEY_CACHE_TTL_MS} ms).`,
          );
          return undefined;
        },
      );
      const key = await new ApiKeyService(ds, bus).revoke(target).finally(() => bus?.close());
      console.log(
        `Revoked key ${key.id} (${key.name}, ${key.prefix}…) at ${key.revokedAt?.toISOString()}`,
      );
    });
  } else {
    throw new Error(USAGE);
  }
}

main(process.argv.slice(2)).catch(fail);
