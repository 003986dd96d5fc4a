/* global module */
/**
 * The import-boundary rule (ARCHITECTURE.md, "Layers"): dependencies point one way,
 *   app → modules → (scoring, grading, launchers) → common
 * and a module reaches another module only through its public files: the service, the entity
 * and the types (`*.service.ts`, `*.entity.ts`, `*.types.ts`). `npm test`'s lint step runs it.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'No import cycle among src/ files: each file can be read after the files it imports. ' +
        'A type-only import (erased when compiled) may close one: entities name each other both ' +
        'ways, and the one that would close the circle names its target by string.',
      from: { path: '^src/' },
      to: {
        circular: true,
        dependencyTypesNot: ['type-only'],
        viaOnly: { dependencyTypesNot: ['type-only'] },
      },
    },
    {
      name: 'common-is-the-bottom',
      severity: 'error',
      comment: 'src/common/ is shared by everything and imports nothing of the project above it.',
      from: { path: '^src/common/' },
      to: { path: '^src/(app|modules|cli|scoring|grading|launchers|main)' },
    },
    {
      name: 'libraries-below-modules',
      severity: 'error',
      comment:
        'src/grading, src/scoring and src/launchers are libraries the modules use: they import only common/ (and each other where one needs the other, grading never).',
      from: { path: '^src/(grading|scoring|launchers)/' },
      to: { path: '^src/(app|modules|cli|main)' },
    },
    {
      name: 'grading-is-self-contained',
      severity: 'error',
      comment: 'The grader is one spec with two implementations; the TypeScript one stands alone.',
      from: { path: '^src/grading/' },
      to: { path: '^src/(scoring|launchers)/' },
    },
    {
      name: 'modules-never-import-app',
      severity: 'error',
      comment:
        'src/app/ is the composition root: it builds the modules, no module reaches back into it.',
      from: { path: '^src/modules/' },
      to: { path: '^src/(app|cli|main)' },
    },
    {
      name: 'module-through-its-public-files',
      severity: 'error',
      comment:
        "modules/<a> uses modules/<b> only through b's public files: its services, entities, " +
        'GraphQL input types and its *.types.ts (types and the few pure functions it lends). ' +
        'Everything else in a module (SQL, routers, resolvers, helpers) is its own.',
      from: { path: '^src/modules/([^/]+)/' },
      to: {
        path: '^src/modules/([^/]+)/',
        pathNot: ['^src/modules/$1/', '\\.(service|entity|inputs|types)\\.ts$'],
      },
    },
    {
      name: 'one-job-queue',
      severity: 'error',
      comment:
        'One pg-boss instance per process: src/common/db/job-queue.ts builds it, src/app/ hands ' +
        "it to the runs' and the webhooks' dispatchers (one pool, started and stopped once).",
      from: { path: '^src/', pathNot: '^src/common/db/job-queue\\.ts$' },
      to: { path: '(^|/)pg-boss(/|$)' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};
