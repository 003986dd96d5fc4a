import pg from 'pg';

/**
 * Counts every statement any pg client of this process sends to one database: the API's pool,
 * the job queue's (pg-boss keeps its own), the announcer's. The StatementCounter sees only what
 * TypeORM runs inside requests; this sees the background too. Call `stop` when done.
 */
export function censusOf(database: string): { readonly count: number; stop(): void } {
  const proto = pg.Client.prototype as unknown as {
    query: (this: pg.Client, ...args: unknown[]) => unknown;
  };
  const original = proto.query;
  let count = 0;
  proto.query = function (this: pg.Client, ...args: unknown[]) {
    if (this.database === database) count += 1;
    return original.apply(this, args);
  };
  return {
    get count() {
      return count;
    },
    stop() {
      proto.query = original;
    },
  };
}
