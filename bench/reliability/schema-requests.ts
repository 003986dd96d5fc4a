/**
 * GraphQL requests generated from schema.graphql: for every root field (queries, mutations, and
 * subscriptions sent over plain POST) an operation with its arguments as variables, the values
 * of the right type most of the time and wrong types, missing fields, extreme numbers and odd
 * strings the rest.
 */
import fs from 'node:fs';
import fc from 'fast-check';
import {
  buildSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isInterfaceType,
  isScalarType,
  isLeafType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLOutputType,
  type GraphQLSchema,
} from 'graphql';
import { extremeFloat, extremeInt, hostileId, hostileJson, oddString } from './hostile-values';

export interface GraphqlRequest {
  /** `Query.datasets`, for the report. */
  field: string;
  query: string;
  variables: Record<string, unknown>;
}

export function loadSchema(file: string): GraphQLSchema {
  return buildSchema(fs.readFileSync(file, 'utf8'));
}

/** A value of the wrong kind for any type: what a sloppy or hostile client sends. */
const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  extremeInt,
  oddString,
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.constant({ unexpected: true }),
);

/** Right-typed values for `type`, hostile within the type, and now and then a wrong one. */
function valueOf(type: GraphQLInputType, depth: number): fc.Arbitrary<unknown> {
  const right = rightValueOf(type, depth);
  return fc.oneof({ weight: 6, arbitrary: right }, { weight: 1, arbitrary: wrongValue });
}

function rightValueOf(type: GraphQLInputType, depth: number): fc.Arbitrary<unknown> {
  if (isNonNullType(type)) return rightValueOf(type.ofType, depth);
  if (isListType(type)) {
    return fc.oneof(
      fc.array(valueOf(type.ofType, depth + 1), { maxLength: 3 }),
      // Past every list bound (one small item repeated: the count is the point, not the size).
      rightValueOf(type.ofType, depth + 1)
        .filter((v) => (JSON.stringify(v) ?? '').length < 2000)
        .map((v) => Array.from({ length: 1001 }, () => v)),
    );
  }
  if (isEnumType(type)) {
    return fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom(...type.getValues().map((v) => v.name)) },
      { weight: 1, arbitrary: oddString },
    );
  }
  if (isInputObjectType(type)) {
    if (depth > 3) return fc.constant({});
    const fields = Object.values(type.getFields());
    const shape: Record<string, fc.Arbitrary<unknown>> = {};
    for (const f of fields) shape[f.name] = valueOf(f.type, depth + 1);
    const required = fields.filter((f) => isNonNullType(f.type)).map((f) => f.name);
    return fc.oneof(
      { weight: 4, arbitrary: fc.record(shape, { requiredKeys: required }) },
      { weight: 1, arbitrary: fc.record(shape, { requiredKeys: [] }) },
      {
        weight: 1,
        arbitrary: fc
          .record(shape, { requiredKeys: required })
          .map((o) => ({ ...o, notAField: 'x' })),
      },
    );
  }
  if (isScalarType(type)) return scalarValue(type.name);
  return wrongValue;
}

function scalarValue(name: string): fc.Arbitrary<unknown> {
  switch (name) {
    case 'Int':
      return extremeInt;
    case 'Float':
      return extremeFloat;
    case 'Boolean':
      return fc.boolean();
    case 'ID':
      return hostileId;
    case 'String':
      return oddString;
    case 'DateTimeISO':
    case 'DateTime':
      return fc.oneof(
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        fc.constantFrom('2026-13-45T99:00:00Z', '0000-00-00', '+275760-09-13T00:00:00.000Z'),
        oddString,
      );
    case 'JSON':
    case 'JSONObject':
      return hostileJson;
    default:
      return fc.oneof(oddString, hostileJson);
  }
}

/** A small selection for an output type: leaf fields without required arguments. */
function selectionOf(type: GraphQLOutputType): string {
  const named = getNamedType(type);
  if (isLeafType(named)) return '';
  if (isObjectType(named) || isInterfaceType(named)) {
    const leaves = Object.values(named.getFields())
      .filter(
        (f) => isLeafType(getNamedType(f.type)) && f.args.every((a) => !isNonNullType(a.type)),
      )
      .slice(0, 4)
      .map((f) => f.name);
    return ` { __typename ${leaves.join(' ')} }`;
  }
  return ' { __typename }';
}

function operationFor(
  kind: 'query' | 'mutation' | 'subscription',
  field: GraphQLField<unknown, unknown>,
): fc.Arbitrary<GraphqlRequest> {
  const decls = field.args.map((a) => `$${a.name}: ${a.type.toString()}`);
  const uses = field.args.map((a) => `${a.name}: $${a.name}`);
  const query =
    `${kind} Fuzz${decls.length ? `(${decls.join(', ')})` : ''} ` +
    `{ ${field.name}${uses.length ? `(${uses.join(', ')})` : ''}${selectionOf(field.type)} }`;
  const shape: Record<string, fc.Arbitrary<unknown>> = {};
  for (const a of field.args) shape[a.name] = valueOf(a.type, 0);
  const required = field.args.filter((a) => isNonNullType(a.type)).map((a) => a.name);
  const label = `${kind}.${field.name}`;
  return fc.record(shape, { requiredKeys: required }).map((variables) => ({
    field: label,
    query,
    variables,
  }));
}

/** Broken documents: syntax errors, unknown fields, depth and alias bombs. */
const brokenDocument: fc.Arbitrary<GraphqlRequest> = fc
  .oneof(
    oddString.map((s) => `{ ${s} }`),
    fc.constantFrom(
      '{',
      '{ datasets { nodes { id } }',
      '{ notAField }',
      'query { datasets(first: "x") { nodes { id } } }',
      `{ ${Array.from({ length: 200 }, (_, k) => `a${k}: datasets { nodes { id } }`).join(' ')} }`,
      `{ node(id: "x") { ${'... on Run { parent: inputCheckpoint { '.repeat(30)} id ${'} }'.repeat(30)} } }`,
      'subscription { runUpdated { id } }',
      'query A { datasets { nodes { id } } } query B { runs { nodes { id } } }',
    ),
  )
  .map((query) => ({ field: 'document', query, variables: {} }));

/** Every root field's operation arbitrary, and broken documents beside them. */
export function requestArbitrary(schema: GraphQLSchema): fc.Arbitrary<GraphqlRequest> {
  const roots: [
    'query' | 'mutation' | 'subscription',
    ReturnType<GraphQLSchema['getQueryType']>,
  ][] = [
    ['query', schema.getQueryType()],
    ['mutation', schema.getMutationType()],
    ['subscription', schema.getSubscriptionType()],
  ];
  const ops: fc.Arbitrary<GraphqlRequest>[] = [];
  for (const [kind, root] of roots) {
    if (!root) continue;
    for (const field of Object.values(root.getFields())) ops.push(operationFor(kind, field));
  }
  return fc.oneof(
    { weight: 12, arbitrary: fc.oneof(...ops) },
    { weight: 1, arbitrary: brokenDocument },
  );
}

/** How many root fields the generator covers, for the report. */
export function rootFieldCount(schema: GraphQLSchema): number {
  return [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].reduce(
    (n, t) => n + (t ? Object.keys(t.getFields()).length : 0),
    0,
  );
}
