import pg from 'pg';

type TextParser = (text: string) => unknown;
const textParserOf = (oid: number) => pg.types.getTypeParser(oid, 'text') as TextParser;

/** pg's own parsers, so a lazily parsed timestamp is the same Date an eager one would be. */
const PARSERS: Record<string, TextParser> = {
  'timestamp with time zone': textParserOf(pg.types.builtins.TIMESTAMPTZ),
  'timestamp without time zone': textParserOf(pg.types.builtins.TIMESTAMP),
};
const RAW_OIDS = new Set<number>([pg.types.builtins.TIMESTAMPTZ, pg.types.builtins.TIMESTAMP]);
const asText: TextParser = (text) => text;
const INT8: number = pg.types.builtins.INT8;

/** The parser for a column's SQL type when reads keep it as text until asked for; else null. */
export function timestampParserOf(sqlType: string): TextParser | null {
  return PARSERS[sqlType] ?? null;
}

/**
 * The type parsers of a read whose timestamps stay text for lazyTimestamps to parse on use.
 * bigint (int8) is the text as pg sends it: pg's own parser returns that same string after
 * testing it against a regular expression, which allocated for each of a large page's ids.
 */
export const TIMESTAMPS_AS_TEXT: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    RAW_OIDS.has(oid) || ((format ?? 'text') === 'text' && oid === INT8)
      ? asText
      : (pg.types.getTypeParser(
          oid,
          format ?? 'text',
        ) as unknown)) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * A prototype below `base` whose timestamp properties are accessors: a row keeps the text it was
 * read with and parses it the first time the property is read (then keeps the Date). Writes
 * store what is written. Rows stay instances of the entity (getters and instanceof still work).
 * Being accessors on the prototype, timestamps are not own properties: JSON.stringify, spread
 * and Object.keys of such a row leave them out (nothing does that to read-path rows today).
 */
export function lazyTimestamps(
  base: object,
  columns: { property: string; parse: (text: string) => unknown }[],
): object {
  const prototype = Object.create(base) as object;
  for (const { property, parse } of columns) {
    const slot = Symbol(property);
    Object.defineProperty(prototype, property, {
      enumerable: true,
      configurable: true,
      get(this: Record<symbol, unknown>) {
        const value = this[slot];
        if (typeof value !== 'string') return value;
        const parsed = parse(value);
        this[slot] = parsed;
        return parsed;
      },
      set(this: Record<symbol, unknown>, value: unknown) {
        this[slot] = value;
      },
    });
  }
  return prototype;
}
