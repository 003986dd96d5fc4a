import type { ApolloServerPlugin } from '@apollo/server';
import {
  GraphQLError,
  TypeInfo,
  getNullableType,
  getOperationAST,
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
  type GraphQLInputFieldMap,
  type GraphQLScalarType,
  type OperationDefinitionNode,
  type ValueNode,
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
  // The variables as sent, not coerced: coercing here would repeat the work execution does
  // anyway (and it dominates on a 1,000-item import). A value of the wrong shape is skipped
  // here and refused by execution's own coercion.
  const walker = new InputWalker(request.variables ?? {}, operation, jsonMaxDepth);
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
          if (!argument) return false;
          const owner = typeInfo.getDirective()?.name ?? typeInfo.getFieldDef()?.name ?? '';
          walker.walk({ node: node.value }, argument.type, `${owner}.${argument.name}`);
          // The walker has seen the value; nothing below it needs visiting.
          return false;
        },
      }),
    );
  }
}

/** What the walker needs of an input type, worked out once per type (graphql-js's type
 * predicates cost more than the walk itself on a 1,000-item import). */
type Shape =
  | { kind: 'list'; of: GraphQLInputType }
  | { kind: 'object'; fields: GraphQLInputFieldMap }
  | { kind: 'enum' }
  | { kind: 'scalar'; scalar: GraphQLScalarType };

const shapes = new WeakMap<GraphQLInputType, Shape>();

function shapeOf(type: GraphQLInputType): Shape {
  let shape = shapes.get(type);
  if (!shape) {
    const t = getNullableType(type);
    shape = isListType(t)
      ? { kind: 'list', of: t.ofType }
      : isInputObjectType(t)
        ? { kind: 'object', fields: t.getFields() }
        : isEnumType(t)
          ? { kind: 'enum' }
          : { kind: 'scalar', scalar: t };
    shapes.set(type, shape);
  }
  return shape;
}

/** Either a literal of the document or a value of the variables. */
type Input = { node: ValueNode } | { raw: unknown };

/**
 * Walks one argument by its type, iteratively (no input can overflow the stack): literals of
 * the document and, where a literal is a $variable, the variable's value as sent (or its
 * default literal).
 */
class InputWalker {
  private readonly defaults = new Map<string, ValueNode>();

  constructor(
    private readonly variables: Record<string, unknown>,
    operation: OperationDefinitionNode,
    private readonly jsonMaxDepth: number,
  ) {
    for (const d of operation.variableDefinitions ?? []) {
      if (d.defaultValue) this.defaults.set(d.variable.name.value, d.defaultValue);
    }
  }

  walk(input: Input, type: GraphQLInputType, path: string): void {
    const stack: { input: Input; type: GraphQLInputType; path: string }[] = [{ input, type, path }];
    while (stack.length) {
      const item = stack.pop()!;
      const { input } = item;
      if ('node' in input && input.node.kind === Kind.VARIABLE) {
        const name = input.node.name.value;
        const sent = this.variables[name];
        const fallback = this.defaults.get(name);
        const next: Input | undefined =
          sent !== undefined ? { raw: sent } : fallback ? { node: fallback } : undefined;
        if (next) stack.push({ input: next, type: item.type, path: item.path });
        continue;
      }
      const shape = shapeOf(item.type);
      if (shape.kind === 'list') {
        // A single value where a list is expected is a list of one (GraphQL's input coercion).
        const items: Input[] =
          'node' in input
            ? input.node.kind === Kind.LIST
              ? input.node.values.map((node) => ({ node }))
              : [input]
            : Array.isArray(input.raw)
              ? (input.raw as unknown[]).map((raw) => ({ raw }))
              : [input];
        for (let i = items.length - 1; i >= 0; i--) {
          stack.push({ input: items[i], type: shape.of, path: `${item.path}.${i}` });
        }
      } else if (shape.kind === 'object') {
        const push = (name: string, field: Input) => {
          const def = shape.fields[name];
          if (def) stack.push({ input: field, type: def.type, path: `${item.path}.${name}` });
        };
        if ('node' in input) {
          if (input.node.kind === Kind.OBJECT) {
            for (const f of input.node.fields) push(f.name.value, { node: f.value });
          }
        } else if (typeof input.raw === 'object' && input.raw !== null) {
          const raw = input.raw as Record<string, unknown>;
          for (const name of Object.keys(raw)) push(name, { raw: raw[name] });
        }
      } else if (shape.kind === 'scalar') {
        this.checkScalar(input, shape.scalar, item.path);
      }
    }
  }

  /** Strings of String and ID; objects and arrays (keys included) of JSON scalars. */
  private checkScalar(input: Input, type: GraphQLScalarType, path: string): void {
    let value: unknown;
    if ('node' in input) {
      const { node } = input;
      if (node.kind === Kind.STRING) value = node.value;
      else if (node.kind === Kind.OBJECT || node.kind === Kind.LIST) {
        // A JSON literal, possibly with $variables inside: the scalar's own parser resolves it.
        value = valueFromAST(node, type, this.variables);
      } else return;
    } else value = input.raw;
    if (type.name === 'ID' && value === '') {
      throw badInput(`${path}: an id cannot be empty`, { field: path });
    }
    if (typeof value === 'string') assertSafeText(value, path);
    else if (typeof value === 'object' && value !== null) {
      assertSafeValue(value, path, this.jsonMaxDepth);
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
