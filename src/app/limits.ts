import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import { GraphQLError, type GraphQLSchema } from 'graphql';
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

/** Refuses a too-costly operation after parsing and validation, before anything executes. */
export function complexityPlugin(schema: GraphQLSchema, max: number): ApolloServerPlugin {
  return {
    requestDidStart() {
      return Promise.resolve({
        didResolveOperation({ request, document }) {
          const complexity = getComplexity({
            schema,
            query: document,
            operationName: request.operationName ?? undefined,
            variables: request.variables ?? {},
            estimators: [pageSizeEstimator, simpleEstimator({ defaultComplexity: 1 })],
          });
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

/** Depth, alias, directive and token limits, checked as validation rules. */
export function armor(config: Config) {
  return new ApolloArmor({
    maxDepth: { n: config.MAX_QUERY_DEPTH, ignoreIntrospection: true },
    maxAliases: { n: config.MAX_ALIASES },
    maxDirectives: { n: 50 },
    maxTokens: { n: 10_000 },
    costLimit: { enabled: false },
    blockFieldSuggestion: { enabled: false },
  }).protect();
}
