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
    const result = query.query(undefined, context, variables);
    // No data at all: the variables were refused before anything ran. graphql-js words that
    // refusal as clients know it (and Apollo answers 400 for it), so it has the last word.
    const finish = (r: ExecutionResult) =>
      r.data === undefined ? runOnGraphQLJs() : withGraphQLErrors(r);
    return isPromise(result) ? result.then(finish) : finish(result);
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
