import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  getNamedType,
  isInterfaceType,
  isObjectType,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';
import { startTestServer, type TestServer } from './helpers/test-server';
import { createDataset, gqlOk, insertRun, pkOf, toGlobalId } from './helpers/seed';
import { buildAppSchema } from '../src/app/schema';
import { NODE_SCOPES } from '../src/app/node-scopes';
import { Node } from '../src/common/db/base.entity';
import { ENTITIES } from '../src/app/entities';
import { ApiKeyScope } from '../src/modules/api-keys/api-key.entity';

/** How much each scope may see; RUNNER reads nothing through GraphQL. */
const RANK: Record<ApiKeyScope, number> = { RUNNER: -1, READ: 0, WRITE: 1, ADMIN: 2 };
const KEY_SCOPES = [ApiKeyScope.READ, ApiKeyScope.WRITE, ApiKeyScope.ADMIN, ApiKeyScope.RUNNER];

/** The node type a field hands out: its own type, or the node of a connection's edges. */
function nodeTypeOf(type: GraphQLNamedType): string | undefined {
  if (!isObjectType(type)) return undefined;
  const node = type.getFields().nodes ?? type.getFields().node;
  if (type.name.endsWith('Connection') && node) return getNamedType(node.type).name;
  return type.getInterfaces().some((i) => i.name === 'Node') ? type.name : undefined;
}

/** For every node type, the strictest scope a root query field returning it declares. */
function rootFieldScopes(schema: GraphQLSchema): Map<string, ApiKeyScope> {
  const out = new Map<string, ApiKeyScope>();
  for (const field of Object.values(schema.getQueryType()!.getFields())) {
    const type = nodeTypeOf(getNamedType(field.type));
    if (!type) continue;
    const declared = field.extensions?.scope;
    const scope = typeof declared === 'string' ? (declared as ApiKeyScope) : ApiKeyScope.READ;
    const known = out.get(type);
    if (!known || RANK[scope] > RANK[known]) out.set(type, scope);
  }
  return out;
}

describe('node(id) and scopes', () => {
  describe('the NODE_SCOPES table', () => {
    it('has an entry for every entity that is a GraphQL node', () => {
      const nodeEntities = ENTITIES.filter((e) => e.prototype instanceof Node).map((e) => e.name);
      const missing = nodeEntities.filter((name) => !Object.hasOwn(NODE_SCOPES, name));
      assert.deepEqual(missing, [], 'node types without a NODE_SCOPES entry');
    });

    it('has an entry for every type implementing Node in the schema', async () => {
      const schema = await buildAppSchema();
      const nodeInterface = schema.getType('Node');
      assert.ok(nodeInterface && isInterfaceType(nodeInterface));
      const implementing = schema.getPossibleTypes(nodeInterface).map((t) => t.name);
      const missing = implementing.filter((name) => !Object.hasOwn(NODE_SCOPES, name));
      assert.deepEqual(missing, [], 'schema node types without a NODE_SCOPES entry');
    });

    it('asks at least the scope of every root query field that returns the type', async () => {
      for (const [type, scope] of rootFieldScopes(await buildAppSchema())) {
        const entry = NODE_SCOPES[type];
        if (entry === null) continue; // never returned by node
        assert.ok(entry !== undefined, `${type} has no NODE_SCOPES entry`);
        assert.ok(
          RANK[entry] >= RANK[scope],
          `${type}: node asks ${entry}, its root field ${scope}`,
        );
      }
    });
  });

  describe('through the API, with keys of every scope', () => {
    let t: TestServer;
    let keys: Record<ApiKeyScope, string>;
    /** One id per node type: a real row where the test makes one, else a missing one. */
    const ids = new Map<string, string>();
    let webhookUrl: string;

    before(async () => {
      t = await startTestServer();
      const run = await insertRun(t, { stage: 'SFT', status: 'RUNNING' });
      const runner = await t.server.services.apiKeys.create({
        name: 'test-runner',
        scopes: [ApiKeyScope.RUNNER],
        runId: Number(run.pk),
      });
      keys = {
        READ: t.keys.read,
        WRITE: t.keys.write,
        ADMIN: t.keys.admin,
        RUNNER: runner.key,
      };
      for (const type of Object.keys(NODE_SCOPES)) ids.set(type, toGlobalId(type, 987654));
      ids.set('Dataset', (await createDataset(t, 'scoped')).id);
      ids.set('Run', run.id);
      webhookUrl = 'http://127.0.0.1:9/hook?token=hook-token-in-url';
      const created = await gqlOk(
        t,
        `mutation($url: String!) { createWebhook(input: { url: $url, events: [RUN_STATUS], active: false }) { webhook { id } } }`,
        { url: webhookUrl },
      );
      const hookId: string = created.createWebhook.webhook.id;
      ids.set('Webhook', hookId);
      const [delivery] = await t.server.ds.query<{ id: number }[]>(
        `INSERT INTO webhook_deliveries (webhook_id, event_type, source_key, payload, status)
         VALUES ($1, 'RUN_STATUS', 'scoped-test', '{"secret":"delivery-payload"}', 'FAILED')
         RETURNING id`,
        [pkOf(hookId)],
      );
      ids.set('WebhookDelivery', toGlobalId('WebhookDelivery', delivery.id));
    });
    after(() => t?.close());

    it('gives each type only to keys with its scope, FORBIDDEN to the others', async () => {
      for (const [type, needed] of Object.entries(NODE_SCOPES)) {
        if (needed === null) continue;
        for (const scope of KEY_SCOPES) {
          const res = await t.gql(
            `query($id: ID!) { node(id: $id) { __typename id } }`,
            {
              id: ids.get(type),
            },
            keys[scope],
          );
          const code = res.errors?.[0]?.extensions.code;
          const what = `${type} with a ${scope} key`;
          if (RANK[scope] >= RANK[needed]) {
            assert.notEqual(code, 'FORBIDDEN', what);
            if (code) assert.equal(code, 'NOT_FOUND', what);
          } else {
            assert.equal(code, 'FORBIDDEN', what);
            assert.equal(res.data?.node ?? null, null, what);
          }
        }
      }
    });

    it("shows a webhook's URL and a delivery's payload to ADMIN only", async () => {
      const q = `query($h: ID!, $d: ID!) {
        hook: node(id: $h) { ... on Webhook { url } }
        delivery: node(id: $d) { ... on WebhookDelivery { payload } }
      }`;
      const vars = { h: ids.get('Webhook'), d: ids.get('WebhookDelivery') };
      const admin = await gqlOk(t, q, vars, keys.ADMIN);
      assert.deepEqual(admin, {
        hook: { url: webhookUrl },
        delivery: { payload: { secret: 'delivery-payload' } },
      });
      for (const scope of [ApiKeyScope.READ, ApiKeyScope.WRITE, ApiKeyScope.RUNNER]) {
        const res = await t.gql(q, vars, keys[scope]);
        const body = JSON.stringify(res);
        assert.doesNotMatch(body, /hook-token-in-url|delivery-payload/, scope);
        assert.ok(
          res.errors?.every((e) => e.extensions.code === 'FORBIDDEN'),
          scope,
        );
      }
    });
  });
});
