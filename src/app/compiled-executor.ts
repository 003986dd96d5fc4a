import type { ApolloServerOptionsWithGateway, BaseContext } from '@apollo/server';
import {
  execute,
  GraphQLError,
  Kind,
  type DocumentNode,
  OperationTypeNode,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import { jitRuntime } from 'graphql-jit/dist/runtime';
import { LRUCache } from 'lru-cache';
import type { GlobalIdLeaves } from '../common/global-id-leaves';

/**
 * Queries run through graphql-jit: each document (by its text and operation name) is compiled
 * once into a function that walks the selection without graphql-js's per-field interpretation
 * (collecting fields, building a resolve info and a path per value, checking types anew). A
 * large read spent most of its executor time there. Mutations (which must run their root fields
 * one after another, as graphql-js does) and any document graphql-jit cannot compile run on
 * graphql-js's execute, as before.
 *
 * Everything around execution stays Apollo's: parsing, validation (with the depth, alias and
 * complexity limits), the plugins' hooks and error formatting (masking) see the same request
 * and the same result either way. Resolvers are the schema's own, so the root-field scope
 * checks run as before.
 *
 * Where graphql-jit does not catch a throw (a property getter of a row, an isTypeOf or a
 * resolveType: see guardContinuations), the query runs again on graphql-js, whose answer (the
 * error at the field that threw, the nulling up to the nearest nullable field) is the one
 * clients get. The resolvers of such a request run twice; it is a read.
 */
export class CompiledExecutor {
  /** By operation name and text; `false`: graphql-jit refused it, so it runs on graphql-js. */
  private readonly compiled: LRUCache<string, CompiledQuery | false>;

  constructor(
    private readonly schema: GraphQLSchema,
    maxEntries = DEFAULT_MAX_COMPILED,
    /** Compiles Node ids as leaves instead of resolvers (see GlobalIdLeaves). */
    private readonly idLeaves?: GlobalIdLeaves,
  ) {
    this.compiled = new LRUCache({ max: maxEntries });
  }

  /** How many compiled documents are kept now (tests). */
  get size(): number {
    return this.compiled.size;
  }

  run(request: {
    source: string;
    document: DocumentNode;
    /** Unresolved (no such operation name): graphql-js's execute says why. */
    operation: { operation: OperationTypeNode } | undefined;
    operationName: string | null;
    variables?: Record<string, unknown>;
    context: unknown;
  }): Promise<ExecutionResult> | ExecutionResult {
    const { document, operationName, context, variables } = request;
    const query =
      request.operation?.operation === OperationTypeNode.QUERY
        ? this.compiledFor(request.source, document, operationName)
        : undefined;
    const runOnGraphQLJs = () =>
      execute({
        schema: this.schema,
        document,
        operationName,
        contextValue: context,
        variableValues: variables,
      });
    if (!query) return runOnGraphQLJs();
    let result: ReturnType<CompiledQuery['query']>;
    try {
      result = query.query(undefined, context, variables);
    } catch {
      // Thrown outside any resolver on the synchronous part of the walk.
      return runOnGraphQLJs();
    }
    // No data at all: the variables were refused before anything ran. graphql-js words that
    // refusal as clients know it (and Apollo answers 400 for it), so it has the last word.
    const finish = (r: ExecutionResult) =>
      r.data === undefined || threwInContinuation(r) ? runOnGraphQLJs() : withGraphQLErrors(r);
    return isPromise(result) ? result.then(finish, runOnGraphQLJs) : finish(result);
  }

  private compiledFor(
    source: string,
    document: DocumentNode,
    operationName: string | null,
  ): CompiledQuery | undefined {
    const key = `${operationName ?? ''}\u0000${source}`;
    const hit = this.compiled.get(key);
    if (hit !== undefined) return hit || undefined;
    const compile = () =>
      compileQuery(this.schema, document, operationName ?? undefined, {
        // Errors carry their resolver's stack already; the masked response never shows one.
        disablingCapturingStackErrors: true,
      });
    const made = this.idLeaves ? this.idLeaves.compiling(compile) : compile();
    // A document graphql-jit refuses (it validated under graphql-js) runs on graphql-js, and
    // is remembered as such so it is not compiled again on every request.
    const kept = isCompiledQuery(made) && !hasRequiredDefault(document) ? made : false;
    this.compiled.set(key, kept);
    return kept || undefined;
  }

  /**
   * Apollo Server's hook for an executor of its own (the gateway interface): the schema as it
   * is, no updates, and this executor in place of graphql-js's.
   */
  asApolloGateway(): ApolloServerOptionsWithGateway<BaseContext>['gateway'] {
    const schema = this.schema;
    return {
      onSchemaLoadOrUpdate(callback) {
        callback({ apiSchema: schema, coreSupergraphSdl: '' });
        return () => undefined;
      },
      load: () =>
        Promise.resolve({
          executor: async (rc) =>
            (await this.run({
              source: rc.source,
              document: rc.document,
              // Apollo types it as always there; it is not when no operation matched.
              operation: rc.operation ?? undefined,
              // As the client sent it: rc.operationName is null when none matched.
              operationName: rc.request.operationName ?? null,
              variables: rc.request.variables,
              context: rc.context,
            })) as Awaited<ReturnType<typeof execute>> & { data?: Record<string, unknown> },
        }),
      stop: () => Promise.resolve(),
    };
  }
}

/**
 * graphql-jit 0.8 refuses an omitted `$first: Int! = 50` as missing, where GraphQL (and
 * graphql-js) use the default: such documents run on graphql-js.
 */
function hasRequiredDefault(document: DocumentNode): boolean {
  return document.definitions.some(
    (d) =>
      d.kind === Kind.OPERATION_DEFINITION &&
      (d.variableDefinitions ?? []).some(
        (v) => v.defaultValue !== undefined && v.type.kind === Kind.NON_NULL_TYPE,
      ),
  );
}

/**
 * What guardContinuations records in an execution's errors when graphql-jit's code for a
 * resolved value threw: that execution's answer is not to be trusted.
 */
class ThrownInContinuation extends Error {
  constructor(readonly thrown: unknown) {
    super('thrown in graphql-jit code run for a resolved value');
  }
}

function threwInContinuation(result: ExecutionResult): boolean {
  return result.errors?.some((e) => e instanceof ThrownInContinuation) ?? false;
}

/** The parts of graphql-jit's execution context (one per run of a query) read here. */
interface JitExecution {
  promiseCounter: number;
  errors: unknown[];
  /** Set once the synchronous part of the walk is done and promises are still pending. */
  resolve?: (execution: JitExecution) => void;
}

type JitValueHandler = (
  execution: JitExecution,
  value: unknown,
  onSuccess: (value: unknown) => void,
  onError: (error: unknown) => void,
) => void;

/**
 * graphql-jit (0.8.9) walks the selection under a resolver's value in the `then` callback of
 * the resolver's promise, unguarded: a throw there (a property getter of a row read inline, an
 * isTypeOf, a resolveType) skips the count of pending promises, so the query's promise never
 * settles (the request hangs) and the throw is an unhandled rejection. A throw on the
 * synchronous part of the walk left promises pending whose callbacks then call the missing
 * `resolve`: another unhandled rejection. Its runtime object is one per process and has no hook,
 * so its two entries for a resolver's or a list item's value are replaced by the same code with
 * the callback guarded: a throw is recorded in the execution's errors (CompiledExecutor then
 * answers with graphql-js) and the count settles.
 */
function guardContinuations(): void {
  const runtime = jitRuntime as unknown as {
    isPromise(value: unknown): value is PromiseLike<unknown>;
    handleResolverResult: JitValueHandler;
    handleListItemResult: JitValueHandler;
  };
  if (
    typeof runtime.handleResolverResult !== 'function' ||
    typeof runtime.handleListItemResult !== 'function'
  ) {
    throw new Error(
      "graphql-jit's runtime no longer has handleResolverResult/handleListItemResult: " +
        'check whether it still leaves throws in its promise callbacks unguarded, then update ' +
        'guardContinuations in compiled-executor.ts',
    );
  }
  const settle = (execution: JitExecution, callback: (value: unknown) => void, value: unknown) => {
    try {
      callback(value);
    } catch (err) {
      execution.errors.push(new ThrownInContinuation(err));
    }
    if (--execution.promiseCounter === 0) execution.resolve?.(execution);
  };
  const handle: JitValueHandler = (execution, value, onSuccess, onError) => {
    if (!runtime.isPromise(value)) {
      onSuccess(value);
      return;
    }
    ++execution.promiseCounter;
    value.then(
      (resolved) => settle(execution, onSuccess, resolved),
      (error) => settle(execution, onError, error),
    );
  };
  runtime.handleResolverResult = handle;
  runtime.handleListItemResult = handle;
}
guardContinuations();

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown }).then === 'function';
}

/**
 * graphql-jit's errors only look like graphql-js's (their prototype is borrowed, their
 * extensions may be missing), and Apollo's formatting needs the real class. The same error
 * graphql-js's execute would give: the message, the resolver's error as originalError (what
 * error masking reads), its extensions, the path and the locations.
 */
function withGraphQLErrors(result: ExecutionResult): ExecutionResult {
  if (!result.errors?.length) return result;
  const errors = result.errors.map((e) => {
    const error = new GraphQLError(e.message, {
      path: e.path,
      originalError: e.originalError ?? undefined,
    });
    // graphql-js computes locations from AST nodes; graphql-jit has computed them already.
    (error as { locations?: unknown }).locations = e.locations;
    return error;
  });
  return { ...result, errors };
}

/** Distinct documents kept compiled; a client's queries are few, a scanner's are not kept. */
export const DEFAULT_MAX_COMPILED = 500;
