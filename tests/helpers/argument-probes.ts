/**
 * Requests generated from the schema that put one hostile value (NUL, a lone surrogate, an
 * empty id) into one string leaf of one root field's arguments, with every other argument
 * filled with a plain value of its type. The input guard must refuse each one before anything
 * executes, naming the leaf's path; nothing here knows which fields exist, so a new field or
 * input type is covered the day it appears.
 */
import {
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isScalarType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLSchema,
} from 'graphql';

export type Poison = 'nul' | 'surrogate' | 'emptyId';

export interface ArgumentProbe {
  rootType: 'query' | 'mutation';
  field: string;
  /** The path the guard must name, e.g. `createDataset.input.metadata.k`. */
  path: string;
  poison: Poison;
  /** The operation with the arguments as variables ($a_<arg>). */
  query: string;
  variables: Record<string, unknown>;
  /** The same operation with the arguments written as literals. */
  literalQuery: string;
}

const POISON: Record<Poison, string> = {
  nul: 'nul\u0000here',
  surrogate: 'lone\uD800here',
  emptyId: '',
};

/** A string leaf: its path below the argument, and whether it is an ID or inside JSON. */
interface Leaf {
  steps: (string | number)[];
  kind: 'String' | 'ID' | 'JSON';
}

/** Input objects are nested at most this deep (no input type in the schema recurses). */
const MAX_INPUT_DEPTH = 6;

/** A plain value of `type`: what a valid request might send, every optional field included. */
function filler(type: GraphQLInputType, depth = 0): unknown {
  const t = getNullableType(type);
  if (isListType(t)) return [filler(t.ofType, depth)];
  if (isInputObjectType(t)) {
    if (depth >= MAX_INPUT_DEPTH) return {};
    return Object.fromEntries(
      Object.values(t.getFields()).map((f) => [f.name, filler(f.type, depth + 1)]),
    );
  }
  if (isEnumType(t)) return t.getValues()[0].name;
  switch (t.name) {
    case 'Int':
    case 'Float':
      return 1;
    case 'Boolean':
      return true;
    case 'ID':
      return 'some-id';
    case 'String':
      return 'plain';
    case 'DateTimeISO':
      return '2026-01-01T00:00:00.000Z';
    default:
      // JSON scalars.
      return { k: 'plain' };
  }
}

/** Every string leaf under `type`, with the steps from the argument to it. */
function leaves(type: GraphQLInputType, steps: (string | number)[] = [], depth = 0): Leaf[] {
  const t = getNullableType(type);
  if (isListType(t)) return leaves(t.ofType, [...steps, 0], depth);
  if (isInputObjectType(t)) {
    if (depth >= MAX_INPUT_DEPTH) return [];
    return Object.values(t.getFields()).flatMap((f) =>
      leaves(f.type, [...steps, f.name], depth + 1),
    );
  }
  if (isEnumType(t) || !isScalarType(t)) return [];
  if (t.name === 'String') return [{ steps, kind: 'String' }];
  if (t.name === 'ID') return [{ steps, kind: 'ID' }];
  if (['Int', 'Float', 'Boolean', 'DateTimeISO'].includes(t.name)) return [];
  return [{ steps: [...steps, 'k'], kind: 'JSON' }];
}

function setAt(root: Record<string, unknown>, steps: (string | number)[], value: unknown): void {
  let at: any = root;
  for (const step of steps.slice(0, -1)) at = at[step];
  at[steps.at(-1)!] = value;
}

/** A value written as a GraphQL literal (enums bare, JSON scalars as object literals). */
function literal(value: unknown, type: GraphQLInputType): string {
  const t = getNullableType(type);
  if (value === null || value === undefined) return 'null';
  if (isListType(t)) return `[${(value as unknown[]).map((v) => literal(v, t.ofType)).join(', ')}]`;
  if (isInputObjectType(t)) {
    const fields = t.getFields();
    const parts = Object.entries(value as Record<string, unknown>).map(
      ([k, v]) => `${k}: ${literal(v, fields[k].type)}`,
    );
    return `{ ${parts.join(', ')} }`;
  }
  if (isEnumType(t)) return value as string;
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object') {
    const parts = Object.entries(value as Record<string, unknown>).map(
      ([k, v]) => `${k}: ${literal(v, type)}`,
    );
    return `{ ${parts.join(', ')} }`;
  }
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : 'null';
}

function selectionFor(field: GraphQLField<unknown, unknown>): string {
  return isLeafType(getNamedType(field.type)) ? '' : ' { __typename }';
}

function operation(
  rootType: 'query' | 'mutation',
  field: GraphQLField<unknown, unknown>,
  args: readonly GraphQLArgument[],
  values: Record<string, unknown>,
) {
  const defs = args.map((a) => `$a_${a.name}: ${String(a.type)}`).join(', ');
  const uses = args.map((a) => `${a.name}: $a_${a.name}`).join(', ');
  const literals = args.map((a) => `${a.name}: ${literal(values[a.name], a.type)}`).join(', ');
  const selection = selectionFor(field);
  return {
    query: `${rootType} Probe(${defs}) { ${field.name}(${uses})${selection} }`,
    variables: Object.fromEntries(args.map((a) => [`a_${a.name}`, values[a.name]])),
    literalQuery: `${rootType} Probe { ${field.name}(${literals})${selection} }`,
  };
}

/** One probe per (root field, string leaf, poison that applies to it). */
export function argumentProbes(schema: GraphQLSchema): ArgumentProbe[] {
  const probes: ArgumentProbe[] = [];
  const roots = [
    ['query', schema.getQueryType()],
    ['mutation', schema.getMutationType()],
  ] as const;
  for (const [rootType, root] of roots) {
    for (const field of Object.values(root?.getFields() ?? {})) {
      if (!field.args.length) continue;
      const base = Object.fromEntries(field.args.map((a) => [a.name, filler(a.type)]));
      for (const arg of field.args) {
        for (const leaf of leaves(arg.type)) {
          const poisons: Poison[] =
            leaf.kind === 'ID' ? ['nul', 'surrogate', 'emptyId'] : ['nul', 'surrogate'];
          for (const poison of poisons) {
            const values = structuredClone(base);
            if (leaf.steps.length === 0) values[arg.name] = POISON[poison];
            else setAt(values[arg.name] as Record<string, unknown>, leaf.steps, POISON[poison]);
            probes.push({
              rootType,
              field: field.name,
              path: [field.name, arg.name, ...leaf.steps].join('.'),
              poison,
              ...operation(rootType, field, field.args, values),
            });
          }
        }
      }
    }
  }
  return probes;
}
