import DataLoader from 'dataloader';
import type { DataSource, EntityTarget, ObjectLiteral } from 'typeorm';
import { rowReader } from './db/plain-rows';
import { preparedRows } from './db/prepared';

type Key = string | number;

export interface ChildrenOptions<T> {
  /** At most this many children per parent, the first in `orderBy` order. */
  first: number;
  orderBy?: keyof T & string;
  /** Equality filters on the children (undefined values are ignored). */
  where?: Partial<Record<keyof T & string, unknown>>;
  /** Only children whose `orderBy` value is greater than this. */
  after?: number | string;
}

/**
 * The per-request DataLoaders: one batched, prepared statement per (target, key, options)
 * whatever the number of parents. Named `<targets>By<Key>` in the registry; created on first use.
 */
export class LoaderRegistry {
  private readonly loaders = new Map<string, DataLoader<Key, unknown>>();

  constructor(private readonly ds: DataSource) {}

  private memo<V>(name: string, make: () => DataLoader<Key, V>): DataLoader<Key, V> {
    let loader = this.loaders.get(name);
    if (!loader) {
      loader = make();
      this.loaders.set(name, loader);
    }
    return loader as DataLoader<Key, V>;
  }

  /**
   * Rows by primary key; a missing row loads as null. With `fields` (what the query selects on
   * them, see selectedFields), the columns of unselected fields may be left out: such rows come
   * from a loader of their own per column set, so no caller gets a row read for another.
   */
  byId<T extends ObjectLiteral & { id: Key }>(
    entity: EntityTarget<T>,
    fields?: ReadonlySet<string>,
  ): DataLoader<Key, T | null> {
    const reader = rowReader(this.ds, entity);
    const projection = reader.projection(fields);
    return this.memo(
      `${reader.table}ById:${projection.key}`,
      () =>
        new DataLoader<Key, T | null>(async (ids) => {
          const idType = reader.sqlType('id');
          const text = `SELECT ${projection.selectList('e')} FROM "${reader.table}" e WHERE e.id = ANY($1::${idType}[])`;
          const rows = projection.fromArrays(await preparedRows(this.ds, text, [ids.map(String)]));
          const byId = new Map(rows.map((r) => [String(r.id), r]));
          return ids.map((id) => byId.get(String(id)) ?? null);
        }),
    );
  }

  /**
   * The children of many parents at once, the first `first` of each: a LATERAL subquery per
   * parent, so PostgreSQL walks the (key, order) index of each parent and stops after `first`
   * rows, instead of ranking every child of every parent with a window function. `fields`: as
   * for byId (filters and order work on the table's columns, whatever the rows read of them).
   */
  childrenBy<T extends ObjectLiteral>(
    entity: EntityTarget<T>,
    key: keyof T & string,
    opts: ChildrenOptions<T>,
    fields?: ReadonlySet<string>,
  ): DataLoader<Key, T[]> {
    const reader = rowReader(this.ds, entity);
    const projection = reader.projection(fields);
    const name = `${reader.table}By${key}:${JSON.stringify(opts)}:${projection.key}`;
    return this.memo(
      name,
      () =>
        new DataLoader<Key, T[]>(async (parents) => {
          const keyCol = reader.column(key);
          const orderCol = reader.column(opts.orderBy ?? 'id').databaseName;
          const values: unknown[] = [parents.map(String), opts.first];
          const conditions = [`c."${keyCol.databaseName}" = p.key`];
          for (const [prop, value] of Object.entries(opts.where ?? {})) {
            if (value === undefined) continue;
            const col = reader.column(prop).databaseName;
            if (value === null) {
              conditions.push(`c."${col}" IS NULL`);
            } else {
              values.push(value);
              conditions.push(`c."${col}" = $${values.length}`);
            }
          }
          if (opts.after !== undefined) {
            values.push(opts.after);
            conditions.push(`c."${orderCol}" > $${values.length}`);
          }
          const text =
            `SELECT p.ord, ${projection.selectList('c')} ` +
            `FROM unnest($1::${reader.sqlType(key)}[]) WITH ORDINALITY AS p(key, ord) ` +
            `CROSS JOIN LATERAL (SELECT * FROM "${reader.table}" c WHERE ${conditions.join(' AND ')} ` +
            `ORDER BY c."${orderCol}", c.id LIMIT $2) c ORDER BY p.ord, c."${orderCol}", c.id`;
          const raw = await preparedRows(this.ds, text, values);
          const rows = projection.fromArrays(raw, 1);
          const grouped: T[][] = parents.map(() => []);
          for (let i = 0; i < raw.length; i++) grouped[Number(raw[i][0]) - 1].push(rows[i]);
          return grouped;
        }),
    );
  }
}
