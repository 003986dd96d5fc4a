/**
 * Loaded before PostGraphile: every `require('graphql…')` in its process resolves to the copy
 * PostGraphile itself depends on. stagewise's own graphql 16 sits at the top of node_modules, so
 * npm nests graphql 15 twice (under postgraphile and under graphile-build-pg), and two copies of
 * graphql in one schema fail at the first query ("Unexpected input type: Int").
 */
import Module from 'node:module';
import path from 'node:path';

const postgraphileDir = path.dirname(require.resolve('postgraphile/package.json'));
const graphqlDir = path.dirname(
  require.resolve('graphql/package.json', { paths: [postgraphileDir] }),
);
const loader = Module as unknown as {
  _resolveFilename: (this: unknown, request: string, ...rest: unknown[]) => string;
};
const resolve = loader._resolveFilename;
loader._resolveFilename = function oneGraphql(request: string, ...rest: unknown[]) {
  if (request === 'graphql' || request.startsWith('graphql/'))
    return resolve.call(this, graphqlDir + request.slice('graphql'.length), ...rest);
  return resolve.call(this, request, ...rest);
};
