import { getMetadataStorage } from 'type-graphql';
import type { DataSource, EntityTarget, ObjectLiteral } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import { lazyTimestamps, timestampParserOf } from './lazy-timestamps';

/** Entities whose reads may leave out the columns of unselected fields (see readsSelectedOnly). */
const selectedOnly = new WeakSet<object>();

/**
 * Lets reads of `entity` for a GraphQL selection leave out a column whose field is not selected,
 * where the column is a plain @Field of the same name (no resolver, arguments or middleware) and
 * not the primary key. Call it only for an entity none of whose code reads such a column other
 * than through its own field: its getters, methods and @FieldResolvers must use only the key and
 * the columns without a field of their own (foreign keys). A column left out is absent from the
 * row (undefined). It is not a throwing getter: graphql-jit reads plain fields outside any
 * try/catch, and a throw there left the request unanswered instead of failing it.
 * tests/read-columns checks every field of such entities against a read of every column.
 */
export function readsSelectedOnly(entity: { prototype: object }): void {
  selectedOnly.add(entity);
}

/** The properties of `target` (or a base class) that type-graphql exposes as plain fields. */
function plainFieldsOf(target: { prototype: object }): Set<string> {
  const storage = getMetadataStorage();
  const chain = new Set<unknown>();
  for (let c: unknown = target; typeof c === 'function' && c !== Function.prototype;) {
    chain.add(c);
    c = Object.getPrototypeOf(c) as unknown;
  }
  const resolved = new Set(
    storage.fieldResolvers
      // One whose type is not known yet counts for every type (it only keeps columns read).
      .filter((r) => {
        const type = r.getObjectType?.();
        return typeof type !== 'function' || chain.has(type);
      })
      .map((r) => r.schemaName),
  );
  return new Set(
    storage.fields
      .filter(
        (f) =>
          chain.has(f.target) &&
          f.schemaName === f.name &&
          !f.middlewares?.length &&
          !f.roles?.length &&
          !f.params?.length &&
          !resolved.has(f.schemaName),
      )
      .map((f) => f.name),
  );
}

/**
 * Reads rows for GraphQL as entity-shaped objects without TypeORM's hydration: the read path of a
 * large response spent most of its time and memory building entities (every column through
 * TypeORM's transformers, a fresh SQL string per call). Rows come back from pg as arrays and
 * become objects with the entity's prototype (so getters such as the global id still work) and
 * its property names, in one fixed order (one hidden class per entity and column set).
 *
 * A read for a GraphQL selection may leave out the columns of fields it does not select (see
 * readsSelectedOnly and `projection`): a large answer that selects four fields of a trace spent
 * most of its allocation on the others (the jsonb metadata above all).
 */
export class RowReader<T extends ObjectLiteral> {
  readonly table: string;
  private readonly columns: ColumnMetadata[];
  /** Per column: whether a read for a selection may leave it out when its field is unselected. */
  private readonly optional: boolean[];
  private readonly prototype: object;
  /** Enum arrays come back from pg as '{A,B}' text: pg does not know the enum's array type. */
  private readonly enumArrays: boolean[];
  /** Every column: what reads without a selection (mutations, other resolvers) get. */
  readonly all: Projection<T>;
  /** By column set (the indexes read, joined), and by the selection's field set. */
  private readonly projections = new Map<string, Projection<T>>();
  private readonly bySelection = new WeakMap<ReadonlySet<string>, Projection<T>>();

  private readonly normalizeType: (col: ColumnMetadata) => string;

  constructor(ds: DataSource, entity: EntityTarget<T>) {
    const meta = ds.getMetadata(entity);
    this.normalizeType = (col) => ds.driver.normalizeType(col);
    this.table = meta.tableName;
    this.columns = meta.columns.filter((c) => !c.isVirtual);
    this.enumArrays = this.columns.map((c) => c.type === 'enum' && c.isArray);
    const target = meta.target as { prototype: object };
    const plain = selectedOnly.has(target) ? plainFieldsOf(target) : new Set<string>();
    this.optional = this.columns.map((c) => !c.isPrimary && plain.has(c.propertyName));
    // Timestamp columns arrive as text (see preparedRows) and become Dates on first read: most
    // responses never select createdAt, and parsing it for every row was ~3% of a large answer.
    const lazy = this.columns.flatMap((c) => {
      const parse = timestampParserOf(this.normalizeType(c));
      return parse ? [{ property: c.propertyName, parse }] : [];
    });
    this.prototype = lazy.length ? lazyTimestamps(target.prototype, lazy) : target.prototype;
    this.all = this.projectionOf(this.columns.map((_, i) => i));
  }

  /**
   * The columns a GraphQL selection needs: those of its fields (by name), plus every column that
   * may not be left out (the key, foreign keys, any column of an entity not marked
   * readsSelectedOnly). Without a selection, every column. Kept per field set object, so a
   * selection computed once per document position costs a lookup.
   */
  projection(fields?: ReadonlySet<string>): Projection<T> {
    if (!fields) return this.all;
    let found = this.bySelection.get(fields);
    if (!found) {
      const indexes = this.columns.flatMap((c, i) =>
        !this.optional[i] || fields.has(c.propertyName) ? [i] : [],
      );
      found = this.projectionOf(indexes);
      this.bySelection.set(fields, found);
    }
    return found;
  }

  private projectionOf(indexes: number[]): Projection<T> {
    const key = indexes.length === this.columns.length ? 'all' : indexes.join('.');
    let found = this.projections.get(key);
    if (!found) {
      found = new Projection<T>(
        key,
        indexes.map((i) => this.columns[i]),
        indexes.map((i) => this.enumArrays[i]),
        this.prototype,
      );
      this.projections.set(key, found);
    }
    return found;
  }

  /** The SQL type of a property's column, for casting a parameter array (`$1::bigint[]`). */
  sqlType(property: string): string {
    return this.normalizeType(this.column(property));
  }

  /** The database column of a property (for WHERE and ORDER BY). */
  column(property: string): ColumnMetadata {
    const col = this.columns.find((c) => c.propertyName === property);
    if (!col) throw new Error(`${this.table} has no column for ${property}`);
    return col;
  }
}

/** Some columns of an entity, read in one fixed order into rows of one prototype. */
export class Projection<T extends ObjectLiteral> {
  constructor(
    /** Names the column set: 'all', or the indexes of the columns read (for statement names). */
    readonly key: string,
    private readonly columns: ColumnMetadata[],
    private readonly enumArrays: boolean[],
    private readonly prototype: object,
  ) {}

  /** The select list for `alias`, in the order fromArrays expects. */
  selectList(alias: string): string {
    return this.columns.map((c) => `${alias}."${c.databaseName}"`).join(', ');
  }

  fromArrays(rows: unknown[][], offset = 0): T[] {
    const out = new Array<T>(rows.length);
    const cols = this.columns;
    for (let r = 0; r < rows.length; r++) {
      const values = rows[r];
      const row = Object.create(this.prototype) as Record<string, unknown>;
      for (let c = 0; c < cols.length; c++) {
        const value = values[c + offset];
        row[cols[c].propertyName] =
          this.enumArrays[c] && typeof value === 'string' ? parseEnumArray(value) : value;
      }
      out[r] = row as T;
    }
    return out;
  }
}

function parseEnumArray(text: string): string[] {
  const inner = text.slice(1, -1);
  return inner === '' ? [] : inner.split(',');
}

const readers = new WeakMap<DataSource, Map<unknown, RowReader<ObjectLiteral>>>();

/** One reader per (data source, entity), made on first use. */
export function rowReader<T extends ObjectLiteral>(
  ds: DataSource,
  entity: EntityTarget<T>,
): RowReader<T> {
  let byEntity = readers.get(ds);
  if (!byEntity) readers.set(ds, (byEntity = new Map<unknown, RowReader<ObjectLiteral>>()));
  let reader = byEntity.get(entity);
  if (!reader) byEntity.set(entity, (reader = new RowReader(ds, entity)));
  return reader as RowReader<T>;
}
