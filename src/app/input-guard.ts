import type { ApolloServerPlugin } from '@apollo/server';
import {
  GraphQLError,
  TypeInfo,
  getNullableType,
  getOperationAST,
  getVariableValues,
  isEnumType,
  isInputObjectType,
  isListType,
  visit,
  visitWithTypeInfo,
  Kind,
  OperationTypeNode,
  valueFromAST,
  type DocumentNode,
  type ExecutableDefinitionNode,
  type GraphQLInputType,
  type GraphQLSchema,
} from 'graphql';
import { AppError, HTTP_STATUS, badInput } from '../common/errors';
import { assertSafeText, assertSafeValue } from '../common/text-guard';
import { assertRequestNesting } from './document-nesting';

/**
 * One guard on every operation's input, whatever field it reaches: each string in a literal
 * argument or a variable (nested input objects, lists and JSON scalars included) must be
 * storable text (no NUL, no lone surrogate), an ID may not be empty (a filter would otherwise
 * ignore it and match everything), and a JSON value may nest at most JSON_MAX_DEPTH levels.
 * It runs once per request, after validation and before anything executes, so resolvers see
 * only safe input and a refusal writes nothing. Errors name the argument path
 * (`createDataset.input.metadata.a`), whether the value came as a literal or a variable
 * (validation guarantees every variable is used by some argument).
 */

export interface InputGuardLimits {
  /** GRAPHQL_MAX_NESTING: brackets in the query text, objects and lists in the variables. */
  maxNesting: number;
  /** JSON_MAX_DEPTH: objects and arrays in one JSON scalar value. */
  jsonMaxDepth: number;
}

interface Request {
  query?: string | null;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
}

/** A domain refusal as the GraphQLError Apollo and the subscription transports send (4xx). */
function asRequestError(err: AppError): GraphQLError {
  return new GraphQLError(err.message, {
    extensions: { ...err.details, code: err.code, http: { status: HTTP_STATUS[err.code] } },
  });
}

function rethrowAsRequestError(run: () => void): void {
  try {
    run();
  } catch (err) {
    throw err instanceof AppError ? asRequestError(err) : err;
  }
}

/** Before parsing: a document or variables nested too deep would overflow graphql-js's stack. */
export function guardRequestSource(request: Request, limits: InputGuardLimits): void {
  rethrowAsRequestError(() => assertRequestNesting(request, limits.maxNesting));
}

/** After validation: the argument and variable checks described above. */
export function guardOperationInputs(
  schema: GraphQLSchema,
  document: DocumentNode,
  request: Request,
  limits: InputGuardLimits,
): void {
  rethrowAsRequestError(() => assertSafeInputs(schema, document, request, limits.jsonMaxDepth));
}

function assertSafeInputs(
  schema: GraphQLSchema,
  document: DocumentNode,
  request: Request,
  jsonMaxDepth: number,
): void {
  const operation = getOperationAST(document, request.operationName ?? undefined);
  if (!operation) return;
  const coerced = getVariableValues(
    schema,
    operation.variableDefinitions ?? [],
    request.variables ?? {},
    { maxErrors: 1 },
  );
  // Wrong variables are refused by execution with graphql-js's own message.
  if (coerced.errors) return;
  const variables = coerced.coerced;
  const typeInfo = new TypeInfo(schema);
  const definitions: ExecutableDefinitionNode[] = [
    operation,
    ...document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION),
  ];
  for (const definition of definitions) {
    visit(
      definition,
      visitWithTypeInfo(typeInfo, {
        Argument(node) {
          const argument = typeInfo.getArgument();
          if (!argument) return;
          const owner = typeInfo.getDirective()?.name ?? typeInfo.getFieldDef()?.name ?? '';
          const value = valueFromAST(node.value, argument.type, variables);
          walkInput(value, argument.type, `${owner}.${argument.name}`, jsonMaxDepth);
        },
      }),
    );
  }
}

/** Walks one coerced input value by its type, iteratively (no input can overflow the stack). */
function walkInput(value: unknown, type: GraphQLInputType, path: string, jsonMaxDepth: number) {
  const stack: { value: unknown; type: GraphQLInputType; path: string }[] = [{ value, type, path }];
  while (stack.length) {
    const item = stack.pop()!;
    if (item.value == null) continue;
    const t = getNullableType(item.type);
    if (isListType(t)) {
      const items = Array.isArray(item.value) ? item.value : [item.value];
      for (let i = items.length - 1; i >= 0; i--) {
        stack.push({ value: items[i], type: t.ofType, path: `${item.path}.${i}` });
      }
    } else if (isInputObjectType(t)) {
      const fields = t.getFields();
      for (const [name, field] of Object.entries(item.value as Record<string, unknown>)) {
        const def = fields[name];
        if (def) stack.push({ value: field, type: def.type, path: `${item.path}.${name}` });
      }
    } else if (!isEnumType(t)) {
      if (t.name === 'ID' && item.value === '') {
        throw badInput(`${item.path}: an id cannot be empty`, { field: item.path });
      }
      // Strings of String and ID; objects and arrays of JSON scalars (keys included).
      if (typeof item.value === 'string') assertSafeText(item.value, item.path);
      else if (typeof item.value === 'object' && !(item.value instanceof Date)) {
        assertSafeValue(item.value, item.path, jsonMaxDepth);
      }
    }
  }
}

/**
 * The Apollo side: the argument walk once the operation is known (the nesting check runs before
 * Apollo, in nestingGuard: an error thrown from a hook before parsing becomes HTTP 500). A
 * subscription sent as a plain POST is refused here as well: it has no stream to answer on.
 */
export function inputGuardPlugin(
  schema: GraphQLSchema,
  limits: InputGuardLimits,
): ApolloServerPlugin {
  return {
    requestDidStart() {
      return Promise.resolve({
        didResolveOperation({ request, document, operation }) {
          if (operation?.operation === OperationTypeNode.SUBSCRIPTION) {
            throw new GraphQLError(
              'Subscriptions go over graphql-ws (a WebSocket on /graphql) or graphql-sse (/graphql/stream), not a plain POST',
              { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } },
            );
          }
          guardOperationInputs(schema, document, request, limits);
          return Promise.resolve();
        },
      });
    },
  };
}
