import { getMetadataStorage } from 'type-graphql';
import {
  GraphQLID,
  GraphQLNonNull,
  GraphQLScalarType,
  isNonNullType,
  isObjectType,
  type GraphQLField,
  type GraphQLFieldResolver,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
} from 'graphql';
import { Node } from './db/base.entity';
import { toGlobalId } from './ids';

/** A Node's `id` field as graphql-js has it, and as graphql-jit compiles it (see compiling). */
/** A class, as type-graphql's metadata names targets. */
type Class = abstract new (...args: never[]) => unknown;

interface IdField {
  field: GraphQLField<unknown, unknown>;
  type: GraphQLOutputType;
  resolve: GraphQLFieldResolver<unknown, unknown> | undefined;
  leaf: GraphQLOutputType;
}

/**
 * Global ids as leaves for graphql-jit. A Node's `id` is a resolver (the nodeId getter, since the
 * row's own `id` is its key), and graphql-jit calls a resolver with a resolve info, a path chain,
 * an arguments object and three closures, which type-graphql wraps again: about 0.85 KB per id,
 * a quarter of a large answer's allocation (1,100 ids in 100 samples with 10 traces each).
 * Compiled as a leaf read from the row's key and serialised by toGlobalId, an id costs its
 * string.
 *
 * The same string: the getter is toGlobalId(its class's name, this.id), and only types named as
 * their class whose `id` is Node's getter, neither redefined nor overridden, are compiled so;
 * their values are instances of that class (RowReader's rows and TypeORM's entities alike). A row
 * without a key (none is read so) would get a null error instead of an id of "undefined".
 */
export class GlobalIdLeaves {
  private readonly classes = new Map<string, Class>();
  private idFields?: IdField[];

  constructor(private readonly schema: GraphQLSchema) {
    for (const o of getMetadataStorage().objectTypes) this.classes.set(o.name, o.target as Class);
  }

  /**
   * Runs `compile` (graphql-jit's compileQuery, synchronous) with every such `id` field typed as
   * a leaf of its own whose serialiser is toGlobalId, without a resolver. The fields are restored
   * before it returns: graphql-js's execution, which runs the getter, never sees the change.
   */
  compiling<T>(compile: () => T): T {
    this.idFields ??= this.findIdFields();
    const fields = this.idFields;
    for (const f of fields) Object.assign(f.field, { type: f.leaf, resolve: undefined });
    try {
      return compile();
    } finally {
      for (const f of fields) Object.assign(f.field, { type: f.type, resolve: f.resolve });
    }
  }

  private findIdFields(): IdField[] {
    const out: IdField[] = [];
    for (const type of Object.values(this.schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__')) continue;
      const field = type.getFields().id;
      if (
        !field ||
        !isNonNullType(field.type) ||
        field.type.ofType !== GraphQLID ||
        this.chainOf(type)[0]?.name !== type.name ||
        !this.isNodeId(type)
      )
        continue;
      const typeName = type.name;
      const leaf = new GraphQLNonNull(
        new GraphQLScalarType({
          name: `${typeName}GlobalId`,
          serialize: (key) => toGlobalId(typeName, key as string),
        }),
      );
      out.push({ field, type: field.type, resolve: field.resolve, leaf });
    }
    return out;
  }

  /** The classes of a GraphQL object type, nearest first. */
  private chainOf(type: GraphQLObjectType): Class[] {
    const chain: Class[] = [];
    for (let c: unknown = this.classes.get(type.name); typeof c === 'function';) {
      if (c === Function.prototype) break;
      chain.push(c as Class);
      c = Object.getPrototypeOf(c) as unknown;
    }
    return chain;
  }

  /** Whether the type's `id` is Node's: its nodeId getter, neither redefined nor overridden. */
  private isNodeId(type: GraphQLObjectType): boolean {
    const chain = this.chainOf(type);
    const defs = getMetadataStorage().fields.filter(
      (f) => f.schemaName === 'id' && (chain.includes(f.target as Class) || f.target === Node),
    );
    const getterKept = chain.every(
      (c) => c === Node || !Object.getOwnPropertyDescriptor(c.prototype, 'nodeId'),
    );
    return (
      chain.includes(Node) &&
      getterKept &&
      defs.length === 1 &&
      defs[0].target === Node &&
      defs[0].name === 'nodeId' &&
      !defs[0].middlewares?.length &&
      !defs[0].roles?.length
    );
  }
}
