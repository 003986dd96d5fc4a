import { createHmac, timingSafeEqual } from 'node:crypto';
import { ArgsType, Field, Int, ObjectType, type ClassType } from 'type-graphql';
import { Max, Min } from 'class-validator';
import { LRUCache } from 'lru-cache';
import type { EntityTarget, ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { badInput } from './errors';
import { rowReader } from './db/plain-rows';
import { preparedRows } from './db/prepared';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;
/** Signed cursors kept for reuse (about 100 bytes each). */
const ISSUED_CURSORS_KEPT = 20_000;

/** `first` / `after` of every connection field; the bound is checked before anything runs. */
@ArgsType()
export class PageArgs {
  @Field(() => Int, { defaultValue: DEFAULT_PAGE_SIZE, description: `At most ${MAX_PAGE_SIZE}.` })
  @Min(0)
  @Max(MAX_PAGE_SIZE)
  first: number = DEFAULT_PAGE_SIZE;

  @Field(() => String, { nullable: true, description: 'endCursor of the previous page.' })
  after?: string | null;
}

@ObjectType()
export class PageInfo {
  @Field()
  hasNextPage!: boolean;

  @Field()
  hasPreviousPage!: boolean;

  @Field(() => String, { nullable: true })
  startCursor!: string | null;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

/**
 * Keyset cursors: the last row's id and the type of rows it pages, signed so that a cursor the
 * server did not issue is refused (BAD_USER_INPUT) instead of silently paging from an arbitrary
 * place. The type makes a cursor of one connection (traces) useless on another (datasets),
 * whose ids it would otherwise quietly skip past.
 */
export class CursorCodec {
  /**
   * Cursors already signed, by type and id: a cursor is a pure function of both, and pages are
   * read again and again (an HMAC per edge was a fifth of a small page's CPU). Bounded, so a
   * scan through every row cannot grow it.
   */
  private readonly issued = new LRUCache<string, string>({ max: ISSUED_CURSORS_KEPT });

  constructor(private readonly secret: string) {}

  private sign(payload: string): string {
    return createHmac('sha256', this.secret).update(payload).digest('base64url').slice(0, 16);
  }

  encode(type: string, id: string | number): string {
    const plain = `k:${type}:${id}`;
    let cursor = this.issued.get(plain);
    if (cursor === undefined) {
      const payload = Buffer.from(plain).toString('base64url');
      cursor = `${payload}.${this.sign(payload)}`;
      this.issued.set(plain, cursor);
    }
    return cursor;
  }

  /** The row id inside a cursor issued for rows of `type`. */
  decode(type: string, cursor: string): string {
    const [payload, signature, extra] = cursor.split('.');
    const expected = Buffer.from(payload ? this.sign(payload) : '');
    // Compare byte lengths: a non-ASCII signature of the right character count would make
    // timingSafeEqual throw (an INTERNAL error) instead of refusing the cursor.
    const given = Buffer.from(signature ?? '');
    const valid =
      extra === undefined &&
      signature !== undefined &&
      given.length === expected.length &&
      timingSafeEqual(given, expected);
    const match = valid
      ? /^k:([A-Za-z]+):([0-9]{1,19})$/.exec(Buffer.from(payload, 'base64url').toString())
      : null;
    if (!match) throw badInput('The cursor is not one this server issued', { cursor });
    if (match[1] !== type) {
      throw badInput(
        `The cursor pages ${match[1]} rows; this connection needs a ${type} cursor (an endCursor of its own)`,
        { cursor },
      );
    }
    return match[2];
  }
}

/** An edge whose cursor is signed only if the client asks for it. */
class LazyEdge<T extends { id: string | number }> {
  constructor(
    readonly node: T,
    private readonly cursors: CursorCodec,
    private readonly type: string,
  ) {}

  get cursor(): string {
    return this.cursors.encode(this.type, this.node.id);
  }
}

export interface Connection<T> {
  edges: { node: T; cursor: string }[];
  nodes: T[];
  pageInfo: PageInfo;
  /** Runs a COUNT only when a client asks for totalCount. */
  countTotal: () => Promise<number>;
}

/**
 * One page of a filtered query in a stable order (by primary key), fetched with one statement:
 * `first + 1` rows after the cursor tell whether another page exists. With `fields` (the node
 * fields the query selects, see selectedFields), the columns of unselected fields may be left
 * out (RowReader.projection); the statement text, and so its name, then names that column set.
 */
export async function keysetPage<T extends ObjectLiteral & { id: string | number }>(
  cursors: CursorCodec,
  query: SelectQueryBuilder<T>,
  args: PageArgs,
  fields?: ReadonlySet<string>,
): Promise<Connection<T>> {
  const alias = query.alias;
  const mainAlias = query.expressionMap.mainAlias!;
  // The entity's name types the cursors: Dataset rows page with Dataset cursors only.
  const type = mainAlias.metadata.name;
  const counter = query.clone();
  const page = query.clone().orderBy(`${alias}.id`, 'ASC');
  if (args.after)
    page.andWhere(`${alias}.id > :__after`, { __after: cursors.decode(type, args.after) });
  // Even for first: 0, one row is read so that hasNextPage says whether any row follows.
  // The filters stay TypeORM's; the rows are read without its hydration (see RowReader).
  const projection = rowReader(query.connection, mainAlias.target as EntityTarget<T>).projection(
    fields,
  );
  const [text, values] = page
    .select(projection.selectList(`"${alias}"`))
    .limit(args.first + 1)
    .getQueryAndParameters();
  const rows = projection.fromArrays(await preparedRows(query.connection, text, values));
  const nodes = rows.slice(0, args.first);
  const edges = nodes.map((node) => new LazyEdge(node, cursors, type));
  return {
    edges,
    nodes,
    pageInfo: {
      hasNextPage: rows.length > args.first,
      hasPreviousPage: Boolean(args.after),
      // Signed only when asked for, as the edges' cursors.
      get startCursor() {
        return edges[0]?.cursor ?? null;
      },
      get endCursor() {
        return edges.at(-1)?.cursor ?? null;
      },
    },
    countTotal: () => counter.getCount(),
  };
}

/** The Relay connection and edge types for one node type, named `<Type>Connection`. */
export function ConnectionType<T extends object>(nodeType: ClassType<T>) {
  @ObjectType(`${nodeType.name}Edge`)
  class Edge {
    @Field(() => nodeType)
    node!: T;

    @Field()
    cursor!: string;
  }

  @ObjectType(`${nodeType.name}Connection`)
  class ConnectionClass implements Connection<T> {
    @Field(() => [Edge])
    edges!: Edge[];

    @Field(() => [nodeType], {
      description: 'The nodes of the edges, for clients that skip edges.',
    })
    nodes!: T[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;

    countTotal!: () => Promise<number>;

    @Field(() => Int, {
      description: 'Rows matching the filter; costs a COUNT, so ask only when needed.',
    })
    get totalCount(): Promise<number> {
      return this.countTotal();
    }
  }
  return ConnectionClass;
}

/** Wraps a page in the connection class, so its totalCount getter is there. */
export function asConnection<T extends object, C extends Connection<T>>(
  cls: ClassType<C>,
  page: Connection<T>,
): C {
  return Object.assign(new cls(), page);
}
