import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import DataLoader from 'dataloader';
import {
  execute,
  GraphQLError,
  GraphQLInt,
  GraphQLInterfaceType,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  GraphQLUnionType,
  getOperationAST,
  parse,
  type ExecutionResult,
} from 'graphql';
import { startTestServer, type TestServer } from './helpers/test-server';
import { createDataset } from './helpers/seed';
import { CompiledExecutor } from '../src/app/compiled-executor';
import { CursorCodec } from '../src/common/pagination';

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
  context: unknown = {},
): Promise<ExecutionResult> {
  const document = parse(source);
  return executor.run({
    source,
    document,
    operation: getOperationAST(document, operationName ?? undefined) ?? undefined,
    operationName,
    variables,
    context,
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

class Thrown extends Error {}

/**
 * Every place a value's code can throw: resolvers, property getters of the rows (read inline by
 * graphql-jit, no resolver), isTypeOf and resolveType, under synchronous and asynchronous
 * parents, in list items, nested objects, non-null fields and values loaded through a DataLoader.
 */
function throwingSchema() {
  const fail = (): never => {
    throw new Thrown('the value could not be read');
  };
  const row = (): Record<string, unknown> => ({
    ok: 'fine',
    get bad() {
      return fail();
    },
    get badNonNull() {
      return fail();
    },
    get child() {
      return row();
    },
  });
  const item: GraphQLObjectType = new GraphQLObjectType({
    name: 'Item',
    fields: () => ({
      ok: { type: GraphQLString },
      bad: { type: GraphQLString },
      badNonNull: { type: new GraphQLNonNull(GraphQLString) },
      throws: { type: GraphQLString, resolve: fail },
      rejects: { type: GraphQLString, resolve: () => Promise.resolve().then(fail) },
      child: { type: item },
      childLater: { type: item, resolve: () => Promise.resolve(row()) },
    }),
  });
  const checked = new GraphQLObjectType({
    name: 'Checked',
    isTypeOf: fail,
    fields: { ok: { type: GraphQLString } },
  });
  const named = new GraphQLInterfaceType({
    name: 'Named',
    fields: { ok: { type: GraphQLString } },
    resolveType: fail,
  });
  const namedItem = new GraphQLObjectType({
    name: 'NamedItem',
    interfaces: [named],
    fields: { ok: { type: GraphQLString } },
  });
  const either = new GraphQLUnionType({ name: 'Either', types: [namedItem], resolveType: fail });
  const later = <T>(value: T) => Promise.resolve(value);
  const list = (type: GraphQLObjectType | GraphQLInterfaceType) => new GraphQLList(type);
  const query = new GraphQLObjectType({
    name: 'Query',
    fields: {
      item: { type: item, resolve: () => row() },
      itemLater: { type: item, resolve: () => later(row()) },
      itemNonNull: { type: new GraphQLNonNull(item), resolve: () => later(row()) },
      items: { type: list(item), resolve: () => [row(), row()] },
      itemsLater: { type: list(item), resolve: () => later([row(), row()]) },
      itemPromises: { type: list(item), resolve: () => [later(row()), later(row())] },
      itemsNonNull: {
        type: new GraphQLList(new GraphQLNonNull(item)),
        resolve: () => later([row(), row()]),
      },
      loaded: {
        type: item,
        resolve: (_s, _a, ctx: { rows: DataLoader<number, unknown> }) => ctx.rows.load(1),
      },
      loadedMany: {
        type: list(item),
        resolve: (_s, _a, ctx: { rows: DataLoader<number, unknown> }) => ctx.rows.loadMany([1, 2]),
      },
      checked: { type: checked, resolve: () => ({ ok: 'x' }) },
      checkedLater: { type: checked, resolve: () => later({ ok: 'x' }) },
      named: { type: named, resolve: () => ({ ok: 'x' }) },
      namedLater: { type: named, resolve: () => later({ ok: 'x' }) },
      namedList: { type: list(named), resolve: () => later([{ ok: 'x' }]) },
      either: { type: either, resolve: () => later({ ok: 'x' }) },
      slow: { type: GraphQLString, resolve: () => new Promise((r) => setTimeout(r, 20, 'slow')) },
    },
  });
  const schema = new GraphQLSchema({ query, types: [namedItem] });
  const context = () => ({
    rows: new DataLoader<number, unknown>((keys) => Promise.resolve(keys.map(() => row()))),
  });
  return { schema, context };
}

const THROWING_QUERIES: Record<string, string> = {
  'a resolver that throws': '{ item { ok throws } }',
  'a resolver that rejects': '{ item { ok rejects } }',
  "a row's getter under a synchronous resolver": '{ item { ok bad } }',
  "a row's getter under an asynchronous resolver": '{ itemLater { ok bad } }',
  "a row's getter two objects below an asynchronous resolver":
    '{ itemLater { child { child { bad } } } }',
  "a row's getter under an asynchronous field of a synchronous one":
    '{ item { childLater { ok bad } } }',
  "a non-null field's getter under an asynchronous resolver": '{ itemLater { ok badNonNull } }',
  "a row's getter under a non-null asynchronous field": '{ itemNonNull { bad } }',
  "a row's getter in the items of a synchronous list": '{ items { ok bad } }',
  "a row's getter in the items of an asynchronous list": '{ itemsLater { ok bad } }',
  "a row's getter in a list of promises": '{ itemPromises { bad } }',
  "a non-null field's getter in a list of non-null items": '{ itemsNonNull { badNonNull } }',
  "a row's getter in a row loaded through a DataLoader": '{ loaded { ok bad } }',
  "a row's getter in rows loaded through a DataLoader": '{ loadedMany { ok bad } }',
  'an isTypeOf under a synchronous resolver': '{ checked { ok } }',
  'an isTypeOf under an asynchronous resolver': '{ checkedLater { ok } }',
  "an interface's resolveType under a synchronous resolver": '{ named { ok } }',
  "an interface's resolveType under an asynchronous resolver": '{ namedLater { ok } }',
  "an interface's resolveType in a list": '{ namedList { ok } }',
  "a union's resolveType": '{ either { ... on NamedItem { ok } } }',
  'a synchronous throw while a sibling is still pending': '{ slow item { bad } }',
  'an asynchronous throw while a sibling is still pending': '{ slow itemLater { bad } }',
};

/** Long enough for any load; a hang shows as this, not as a test runner's 10 minute timeout. */
const ANSWER_WITHIN_MS = 20_000;

async function answeredWithin<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: no answer within ${ANSWER_WITHIN_MS / 1000} s`)),
      ANSWER_WITHIN_MS,
    );
  });
  try {
    return await Promise.race([work, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** The answer as clients see it: the data, and each error's message, path and locations. */
function asSent(result: ExecutionResult) {
  return plain({
    data: result.data,
    errors: result.errors?.map((e) => ({ message: e.message, path: e.path, at: e.locations })),
  });
}

describe("compiled executor, when a value's code throws", () => {
  const unhandled: unknown[] = [];
  const record = (reason: unknown) => unhandled.push(reason);
  before(() => process.on('unhandledRejection', record));
  after(() => process.off('unhandledRejection', record));

  describe('answers as graphql-js does', { concurrency: true }, () => {
    for (const [shape, source] of Object.entries(THROWING_QUERIES)) {
      it(`for ${shape}`, async () => {
        const { schema, context } = throwingSchema();
        const expected = await execute({
          schema,
          document: parse(source),
          contextValue: context(),
        });
        assert.ok(expected.errors?.length, 'the case throws on graphql-js too');
        const result = await answeredWithin(
          run(new CompiledExecutor(schema), source, undefined, null, context()),
          shape,
        );
        assert.deepEqual(asSent(result), asSent(expected));
        // What Apollo's error masking reads: a GraphQLError holding the thrown error.
        for (const error of result.errors ?? []) {
          assert.ok(error instanceof GraphQLError);
          assert.ok(
            error.originalError instanceof Thrown || /non-nullable/.test(error.message),
            error.message,
          );
        }
      });
    }
  });

  it('leaves no unhandled rejection behind', async () => {
    // The callbacks of promises still pending when an answer came have run by now.
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(unhandled, []);
  });
});

describe('the API, when a value getter throws under a compiled query', () => {
  let t: TestServer;
  const unhandled: unknown[] = [];
  const record = (reason: unknown) => unhandled.push(reason);
  const encode = Object.getOwnPropertyDescriptor(CursorCodec.prototype, 'encode')!;

  before(async () => {
    process.on('unhandledRejection', record);
    t = await startTestServer();
    await createDataset(t, 'getter-throws');
  });
  after(async () => {
    Object.defineProperty(CursorCodec.prototype, 'encode', encode);
    process.off('unhandledRejection', record);
    await t.close();
  });

  it('answers at once with the masked error, the data nulled as graphql-js does, and keeps serving', async () => {
    // An edge's cursor is a getter that graphql-jit reads inline, under the asynchronous
    // datasets resolver: the shape that hung a request. The signing is made to fail.
    Object.defineProperty(CursorCodec.prototype, 'encode', {
      ...encode,
      value: () => {
        throw new Error('signing failed');
      },
    });
    const query = '{ datasets(first: 5) { edges { cursor node { name } } } }';
    const res = await answeredWithin(t.gql(query), 'the request');
    assert.equal(res.status, 200);
    // cursor, the edge and edges are non-null, and so is datasets: nothing is left.
    assert.equal(res.data, null);
    assert.deepEqual(
      res.errors?.map((e) => ({ path: (e as { path?: unknown }).path, code: e.extensions.code })),
      [{ path: ['datasets', 'edges', 0, 'cursor'], code: 'INTERNAL' }],
    );
    for (const error of res.errors ?? []) assert.doesNotMatch(error.message, /signing failed/);

    Object.defineProperty(CursorCodec.prototype, 'encode', encode);
    const again = await answeredWithin(t.gql(query), 'the next request');
    assert.equal(again.errors, undefined);
    assert.equal(
      (again.data as { datasets: { edges: { node: { name: string } }[] } }).datasets.edges[0].node
        .name,
      'getter-throws',
    );
    assert.deepEqual(unhandled, []);
  });
});
