import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  GraphQLError,
  GraphQLInt,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  getOperationAST,
  parse,
  type ExecutionResult,
} from 'graphql';
import { CompiledExecutor } from '../src/app/compiled-executor';

class Refused extends Error {}

/** Counts how often each root field ran, and which executor ran it (graphql-js builds a path). */
function tinySchema() {
  const calls: string[] = [];
  const query = new GraphQLObjectType({
    name: 'Query',
    fields: {
      hello: {
        type: GraphQLString,
        args: { n: { type: new GraphQLNonNull(GraphQLInt) } },
        resolve: (_s, args: { n: number }) => {
          calls.push('hello');
          return `hello ${args.n}`;
        },
      },
      refused: {
        type: GraphQLString,
        resolve: () => {
          throw new Refused('no');
        },
      },
    },
  });
  const mutation = new GraphQLObjectType({
    name: 'Mutation',
    fields: {
      bump: {
        type: GraphQLInt,
        resolve: () => {
          calls.push('bump');
          return calls.length;
        },
      },
    },
  });
  return { schema: new GraphQLSchema({ query, mutation }), calls };
}

async function run(
  executor: CompiledExecutor,
  source: string,
  variables?: Record<string, unknown>,
  operationName: string | null = null,
): Promise<ExecutionResult> {
  const document = parse(source);
  return executor.run({
    source,
    document,
    operation: getOperationAST(document, operationName ?? undefined) ?? undefined,
    operationName,
    variables,
    context: {},
  });
}

const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

describe('compiled executor', () => {
  it('compiles a query once per text and operation name and answers as graphql-js does', async () => {
    const { schema } = tinySchema();
    const executor = new CompiledExecutor(schema);
    const text = 'query($n: Int!) { hello(n: $n) }';
    assert.deepEqual(await run(executor, text, { n: 1 }), { data: { hello: 'hello 1' } });
    assert.deepEqual(await run(executor, text, { n: 2 }), { data: { hello: 'hello 2' } });
    assert.equal(executor.size, 1);
  });

  it('keeps at most its bound of compiled documents, dropping the least recently used', async () => {
    const { schema } = tinySchema();
    const executor = new CompiledExecutor(schema, 2);
    const a = '{ a: hello(n: 1) }';
    const b = '{ b: hello(n: 2) }';
    const c = '{ c: hello(n: 3) }';
    await run(executor, a);
    await run(executor, b);
    await run(executor, a); // a is now the most recently used
    await run(executor, c); // evicts b
    assert.equal(executor.size, 2);
    assert.deepEqual(await run(executor, b), { data: { b: 'hello 2' } });
    assert.equal(executor.size, 2);
  });

  it('runs a mutation on graphql-js without compiling it', async () => {
    const { schema, calls } = tinySchema();
    const executor = new CompiledExecutor(schema);
    // graphql-js answers with null-prototype objects: compared as the JSON clients get.
    assert.deepEqual(plain(await run(executor, 'mutation { x: bump y: bump }')), {
      data: { x: 1, y: 2 },
    });
    assert.deepEqual(calls, ['bump', 'bump']);
    assert.equal(executor.size, 0);
  });

  it("gives a resolver's error as a graphql-js GraphQLError with its original error, path and locations", async () => {
    const { schema } = tinySchema();
    const result = await run(new CompiledExecutor(schema), '{ refused }');
    assert.deepEqual(result.data, { refused: null });
    const [error] = result.errors ?? [];
    assert.ok(error instanceof GraphQLError);
    assert.ok(error.originalError instanceof Refused);
    assert.deepEqual(error.path, ['refused']);
    assert.deepEqual(error.locations, [{ line: 1, column: 3 }]);
  });

  it("uses an omitted non-null variable's default value", async () => {
    const { schema } = tinySchema();
    const result = await run(new CompiledExecutor(schema), 'query($n: Int! = 7) { hello(n: $n) }');
    assert.deepEqual(plain(result), { data: { hello: 'hello 7' } });
  });

  it('refuses a missing variable with the words of graphql-js', async () => {
    const { schema } = tinySchema();
    const result = await run(new CompiledExecutor(schema), 'query($n: Int!) { hello(n: $n) }');
    assert.equal(result.data, undefined);
    assert.equal(
      result.errors?.[0]?.message,
      'Variable "$n" of required type "Int!" was not provided.',
    );
  });

  it('leaves an operation name that matches nothing to graphql-js, which refuses it', async () => {
    const { schema } = tinySchema();
    const result = await run(new CompiledExecutor(schema), '{ hello(n: 1) }', {}, 'Nope');
    assert.equal(result.data, undefined);
    assert.equal(result.errors?.[0]?.message, 'Unknown operation named "Nope".');
  });
});
