/**
 * What other modules may use of runs besides the service and the entities (the import-boundary
 * rule, .dependency-cruiser.cjs): whether a status is final, and a stage config's validation.
 */
export { isTerminal } from './run-status';
export { validateStageConfig } from './stage-configs';
