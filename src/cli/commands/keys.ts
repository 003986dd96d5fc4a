/**
 * `stagewise keys`: API keys through the API's ADMIN mutations (createApiKey, apiKeys,
 * revokeApiKey), so it needs an ADMIN key and no database access. `npm run keys` (src/cli/keys.ts)
 * stays for the first key, which has no key to call the API with.
 */
import { type ApiClient, UsageError } from '../api-client';
import { noPositionals, oneId, parse, requireOptions, runSubcommand } from './args';
import { fetchAllPages } from './pages';
import { dateTime, printJson, printList } from './output';
import { EXIT } from './shared';

export const KEYS_USAGE = `Usage:
  stagewise keys create --name NAME --scopes READ[,WRITE][,ADMIN] [--json]
  stagewise keys list [--json]
  stagewise keys revoke ID|PREFIX [--json]

Needs an ADMIN key in STAGEWISE_API_KEY. create prints the new key once (only its hash is kept).`;

const USER_SCOPES = ['READ', 'WRITE', 'ADMIN'];
const KEY_FIELDS = 'id name prefix scopes createdAt lastUsedAt revokedAt';

interface ApiKeyNode {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

async function create(api: ApiClient, argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      name: { type: 'string' },
      scopes: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    KEYS_USAGE,
  );
  noPositionals(positionals, KEYS_USAGE);
  requireOptions({ name: values.name, scopes: values.scopes }, KEYS_USAGE);
  const scopes = String(values.scopes)
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  const unknown = scopes.filter((s) => !USER_SCOPES.includes(s));
  if (!scopes.length || unknown.length) {
    throw new UsageError(`--scopes takes ${USER_SCOPES.join(', ')} (got ${values.scopes})`);
  }
  const { createApiKey } = await api.graphql<{ createApiKey: { key: string; apiKey: ApiKeyNode } }>(
    `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key apiKey { ${KEY_FIELDS} } } }`,
    { input: { name: values.name, scopes } },
  );
  const { key, apiKey } = createApiKey;
  if (values.json) return printJson({ ...apiKey, key });
  console.log(
    `Created key "${apiKey.name}" (${apiKey.scopes.join(', ')}), id ${apiKey.id}. Shown once:\n\n  ${key}\n`,
  );
  return EXIT.OK;
}

const listKeys = (api: ApiClient) =>
  fetchAllPages<ApiKeyNode>(
    api,
    'apiKeys',
    `query($after: String) { apiKeys(first: 500, after: $after) {
       nodes { ${KEY_FIELDS} } pageInfo { hasNextPage endCursor } } }`,
  );

async function list(api: ApiClient, argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { json: { type: 'boolean', default: false } },
    KEYS_USAGE,
  );
  noPositionals(positionals, KEYS_USAGE);
  return printList(await listKeys(api), {
    json: values.json,
    empty: 'No keys.',
    headers: ['ID', 'NAME', 'PREFIX', 'SCOPES', 'CREATED', 'LAST USED', 'REVOKED'],
    row: (k) => [
      k.id,
      k.name,
      k.prefix,
      k.scopes.join(','),
      dateTime(k.createdAt),
      k.lastUsedAt ? dateTime(k.lastUsedAt) : '-',
      k.revokedAt ? dateTime(k.revokedAt) : '-',
    ],
  });
}

async function revoke(api: ApiClient, argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { json: { type: 'boolean', default: false } },
    KEYS_USAGE,
  );
  const target = oneId(positionals, 'keys revoke', 'key', KEYS_USAGE);
  // A prefix (as `keys list` shows it) names the key too; an id is passed on as it is.
  const byPrefix = (await listKeys(api)).filter((k) => k.prefix === target);
  if (byPrefix.length > 1)
    throw new UsageError(`${byPrefix.length} keys have prefix ${target}; use the id`);
  const id = byPrefix[0]?.id ?? target;
  const { revokeApiKey } = await api.graphql<{ revokeApiKey: ApiKeyNode }>(
    `mutation($id: ID!) { revokeApiKey(id: $id) { ${KEY_FIELDS} } }`,
    { id },
  );
  if (values.json) return printJson(revokeApiKey);
  console.log(
    `Revoked key ${revokeApiKey.id} (${revokeApiKey.name}, ${revokeApiKey.prefix}…) at ${revokeApiKey.revokedAt}`,
  );
  return EXIT.OK;
}

export function keysCommand(api: ApiClient, argv: string[]): Promise<number> {
  return runSubcommand(api, argv, { create, list, revoke }, KEYS_USAGE);
}
