import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { buildSchema, lexicographicSortSchema, printSchema } from 'graphql';
import { buildAppSchema, printAppSchema } from '../src/app/schema';

/** schema.graphql at the repository root: two levels above dist/tests, or the working dir. */
function committedSchemaPath(): string {
  const candidates = [
    path.join(__dirname, '..', '..', 'schema.graphql'),
    path.join(process.cwd(), 'schema.graphql'),
  ];
  const found = candidates.find((p) => fs.existsSync(p));
  assert.ok(found, `schema.graphql not found in ${candidates.join(' or ')}`);
  return found;
}

describe('schema.graphql', () => {
  it('is exactly the SDL the code builds (run `npm run schema` after changing the API)', async () => {
    const committed = fs.readFileSync(committedSchemaPath(), 'utf8');
    const built = await printAppSchema();
    assert.equal(built, committed);
  });

  it('is stable: types and fields print in name order, not in the order resolvers register them', async () => {
    // Sorted, the file changes only where the API does: moving a resolver or a field in the code
    // leaves it as it is. Read back and sorted again, the printed text must not move.
    const printed = await printAppSchema();
    const resorted = printSchema(lexicographicSortSchema(buildSchema(printed))) + '\n';
    assert.equal(printed, resorted);
  });

  it('declares the ADMIN scope on every key-management field', async () => {
    const schema = await buildAppSchema();
    const query = schema.getQueryType()!.getFields();
    const mutation = schema.getMutationType()!.getFields();
    assert.equal(query.apiKeys.extensions.scope, 'ADMIN');
    assert.equal(mutation.createApiKey.extensions.scope, 'ADMIN');
    assert.equal(mutation.revokeApiKey.extensions.scope, 'ADMIN');
  });
});
