import DataLoader from 'dataloader';
import type { DataSource, EntityTarget, ObjectLiteral } from 'typeorm';

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
 * The per-request DataLoaders: one batched statement per (target, key, options) whatever the
 * number of parents. Named `<targets>By<Key>` in the registry; created on first use.
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

  private column<T extends ObjectLiteral>(entity: EntityTarget<T>, prop: string): string {
    const col = this.ds.getMetadata(entity).findColumnWithPropertyName(prop);
    if (!col) throw new Error(`No column ${prop}`);
    return col.databaseName;
  }

  /** Rows by primary key; a missing row loads as null. */
  byId<T extends ObjectLiteral & { id: Key }>(entity: EntityTarget<T>): DataLoader<Key, T | null> {
    const name = `${this.ds.getMetadata(entity).name}ById`;
    return this.memo(
      name,
      () =>
        new DataLoader<Key, T | null>(async (ids) => {
          const rows = await this.ds
            .getRepository(entity)
            .createQueryBuilder('e')
            .where('e.id = ANY(:ids)', { ids: ids.map(String) })
            .getMany();
          const byId = new Map(rows.map((r) => [String(r.id), r]));
          return ids.map((id) => byId.get(String(id)) ?? null);
        }),
    );
  }

  /** The children of many parents at once, bounded per parent with a window function. */
  childrenBy<T extends ObjectLiteral>(
    entity: EntityTarget<T>,
    key: keyof T & string,
    opts: ChildrenOptions<T>,
  ): DataLoader<Key, T[]> {
    const meta = this.ds.getMetadata(entity);
    const name = `${meta.name}sBy${key}:${JSON.stringify(opts)}`;
    return this.memo(
      name,
      () =>
        new DataLoader<Key, T[]>(async (parents) => {
          const keyCol = this.column(entity, key);
          const orderCol = this.column(entity, opts.orderBy ?? 'id');
          const params: Record<string, unknown> = { parents: parents.map(String), n: opts.first };
          const conditions = [`"${keyCol}" = ANY(:parents)`];
          for (const [prop, value] of Object.entries(opts.where ?? {})) {
            if (value === undefined) continue;
            const col = this.column(entity, prop);
            conditions.push(value === null ? `"${col}" IS NULL` : `"${col}" = :w_${prop}`);
            params[`w_${prop}`] = value;
          }
          if (opts.after !== undefined) {
            conditions.push(`"${orderCol}" > :after`);
            params.after = opts.after;
          }
          const ranked =
            `SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY "${keyCol}" ORDER BY "${orderCol}", id) AS rn ` +
            `FROM "${meta.tableName}" WHERE ${conditions.join(' AND ')}) ranked WHERE rn <= :n`;
          const rows = await this.ds
            .getRepository(entity)
            .createQueryBuilder('e')
            .where(`e.id IN (${ranked})`, params)
            .orderBy(`e.${opts.orderBy ?? 'id'}`, 'ASC')
            .addOrderBy('e.id', 'ASC')
            .getMany();
          const grouped = new Map<string, T[]>();
          for (const row of rows) {
            const parent = String(row[key]);
            const list = grouped.get(parent) ?? [];
            list.push(row);
            grouped.set(parent, list);
          }
          return parents.map((p) => grouped.get(String(p)) ?? []);
        }),
    );
  }
}
