import type { DataSource, EntityTarget, ObjectLiteral } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import { lazyTimestamps, timestampParserOf } from './lazy-timestamps';

/**
 * Reads rows for GraphQL as entity-shaped objects without TypeORM's hydration: the read path of a
 * large response spent most of its time and memory building entities (every column through
 * TypeORM's transformers, a fresh SQL string per call). Rows come back from pg as arrays and
 * become objects with the entity's prototype (so getters such as the global id still work) and
 * its property names, in one fixed order (one hidden class per entity).
 */
export class RowReader<T extends ObjectLiteral> {
  readonly table: string;
  private readonly columns: ColumnMetadata[];
  private readonly prototype: object;
  /** Enum arrays come back from pg as '{A,B}' text: pg does not know the enum's array type. */
  private readonly enumArrays: boolean[];

  private readonly normalizeType: (col: ColumnMetadata) => string;

  constructor(ds: DataSource, entity: EntityTarget<T>) {
    const meta = ds.getMetadata(entity);
    this.normalizeType = (col) => ds.driver.normalizeType(col);
    this.table = meta.tableName;
    this.columns = meta.columns.filter((c) => !c.isVirtual);
    this.enumArrays = this.columns.map((c) => c.type === 'enum' && c.isArray);
    // Timestamp columns arrive as text (see preparedRows) and become Dates on first read: most
    // responses never select createdAt, and parsing it for every row was ~3% of a large answer.
    const entityPrototype = (meta.target as { prototype: object }).prototype;
    const lazy = this.columns.flatMap((c) => {
      const parse = timestampParserOf(this.normalizeType(c));
      return parse ? [{ property: c.propertyName, parse }] : [];
    });
    this.prototype = lazy.length ? lazyTimestamps(entityPrototype, lazy) : entityPrototype;
  }

  /** The select list for `alias`: every column, in the order fromArrays expects. */
  selectList(alias: string): string {
    return this.columns.map((c) => `${alias}."${c.databaseName}"`).join(', ');
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
