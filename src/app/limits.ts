import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import { GraphQLError, type DocumentNode, type GraphQLSchema } from 'graphql';
import { getComplexity, simpleEstimator, type ComplexityEstimator } from 'graphql-query-complexity';
import type { Config } from './config';

/**
 * A list field costs its children times the rows it may return (`first`), so a request's cost
 * bounds the rows it can touch: 100 samples x 20 traces costs about 2,000 x fields.
 */
const pageSizeEstimator: ComplexityEstimator = ({ args, childComplexity }) => {
  const first: unknown = args.first;
  return typeof first === 'number' ? 1 + childComplexity * Math.max(first, 1) : undefined;
};

/**
 * The cost of the operation. Pricing coerces the variables before Apollo does, so a missing or
 * wrong variable surfaces here: it is the client's mistake (400), as it would be at execution.
 */
// Exported for the subscription transports (src/app/subscriptions.ts), which price the same way.
export function priceOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  request: { operationName?: string | null; variables?: Record<string, unknown> | null },
): number {
  // Apollo keeps one parsed document per query text, so a client repeating a query with the
  // same variables is priced once, not on every request.
  const key = `${request.operationName ?? ''}\u0000${JSON.stringify(request.variables ?? {})}`;
  let prices = priced.get(document);
  if (!prices) priced.set(document, (prices = new Map<string, number>()));
  const known = prices.get(key);
  if (known !== undefined) return known;
  const price = computePrice(schema, document, request);
  if (prices.size >= MAX_PRICES_PER_DOCUMENT) prices.clear();
  prices.set(key, price);
  return price;
}

/** Prices by document and (operation, variables); bounded so varied variables cannot grow it. */
const priced = new WeakMap<DocumentNode, Map<string, number>>();
const MAX_PRICES_PER_DOCUMENT = 256;

function computePrice(
  schema: GraphQLSchema,
  document: DocumentNode,
  request: { operationName?: string | null; variables?: Record<string, unknown> | null },
): number {
  try {
    return getComplexity({
      schema,
      query: document,
      operationName: request.operationName ?? undefined,
      variables: request.variables ?? {},
      estimators: [pageSizeEstimator, simpleEstimator({ defaultComplexity: 1 })],
    });
  } catch (err) {
    if (!(err instanceof GraphQLError)) throw err;
    throw new GraphQLError(err.message, {
      nodes: err.nodes,
      extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } },
    });
  }
}

/** Refuses a too-costly operation after parsing and validation, before anything executes. */
export function complexityPlugin(schema: GraphQLSchema, max: number): ApolloServerPlugin {
  return {
    requestDidStart() {
      return Promise.resolve({
        didResolveOperation({ request, document }) {
          const complexity = priceOperation(schema, document, request);
          if (complexity > max) {
            throw new GraphQLError(
              `The query is too complex: ${complexity} > ${max}. Ask for smaller pages or fewer nested lists.`,
              {
                extensions: {
                  code: 'BAD_USER_INPUT',
                  complexity,
                  maxComplexity: max,
                  http: { status: 400 },
                },
              },
            );
          }
          return Promise.resolve();
        },
      });
    },
  };
}

/** Lexical tokens in one document: bounds the parser's work on huge queries. */
const MAX_TOKENS = 10_000;

/**
 * Depth, alias and directive limits, checked as validation rules, and the token limit, enforced
 * by graphql-js's own parser (armor's token plugin re-parses in a hook, so a syntax error or too
 * many tokens would come back as HTTP 500 instead of 400).
 */
export function armor(config: Config) {
  const armored = new ApolloArmor({
    maxDepth: { n: config.MAX_QUERY_DEPTH, ignoreIntrospection: true },
    maxAliases: { n: config.MAX_ALIASES },
    maxDirectives: { n: 50 },
    maxTokens: { enabled: false },
    costLimit: { enabled: false },
    blockFieldSuggestion: { enabled: false },
  }).protect();
  return { ...armored, parseOptions: { maxTokens: MAX_TOKENS } };
}
