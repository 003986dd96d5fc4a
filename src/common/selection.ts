import {
  isObjectType,
  Kind,
  type FieldNode,
  type GraphQLResolveInfo,
  type SelectionSetNode,
} from 'graphql';

/** How the rows sit below the resolved field: the field's own list, or a connection's nodes. */
export type SelectionShape = 'rows' | 'connection';

/**
 * The names of the fields a query selects on the rows a resolver returns, for reads that leave
 * out the columns of the others (RowReader.projection). For `rows` (a list or a single object of
 * `typeName`) the field's own sub-selection; for `connection` the sub-selections of `nodes` and
 * of `edges { node }`. Fragments and inline fragments count (aliases name no field: the field's
 * name does); one whose type condition is another object type does not. Every field under @skip
 * or @include counts, whatever the variables: reading a column too many is harmless.
 *
 * The set is kept per field nodes and type, so every parent of a nested list (and every request
 * of a compiled document) gets the same Set object, which RowReader's projection cache keys on.
 */
export function selectedFields(
  info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments' | 'schema'>,
  typeName: string,
  shape: SelectionShape,
): ReadonlySet<string> {
  const first = info.fieldNodes[0];
  let kept = cache.get(first);
  if (!kept) cache.set(first, (kept = []));
  for (const k of kept) {
    if (k.typeName === typeName && k.shape === shape && sameNodes(k.nodes, info.fieldNodes))
      return k.fields;
  }
  const fields = new Set<string>();
  const collect = new Collector(info, typeName);
  for (const node of info.fieldNodes) {
    if (shape === 'rows') collect.fieldsOf(node.selectionSet, fields);
    else {
      const top = collect.nodesUnder(node.selectionSet, ['nodes']);
      const edges = collect.nodesUnder(node.selectionSet, ['edges']);
      for (const n of top) collect.fieldsOf(n.selectionSet, fields);
      for (const e of edges) {
        for (const n of collect.nodesUnder(e.selectionSet, ['node']))
          collect.fieldsOf(n.selectionSet, fields);
      }
    }
  }
  // A document's positions are few; a bound keeps a pathological one from growing this.
  if (kept.length < 16) kept.push({ typeName, shape, nodes: [...info.fieldNodes], fields });
  return fields;
}

const cache = new WeakMap<
  FieldNode,
  { typeName: string; shape: SelectionShape; nodes: FieldNode[]; fields: ReadonlySet<string> }[]
>();

function sameNodes(a: readonly FieldNode[], b: readonly FieldNode[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

class Collector {
  constructor(
    private readonly info: Pick<GraphQLResolveInfo, 'fragments' | 'schema'>,
    private readonly typeName: string,
  ) {}

  /** Whether a fragment with this type condition may apply to rows of `typeName`. */
  private applies(condition: string | undefined, checkType: boolean): boolean {
    if (!checkType || condition === undefined || condition === this.typeName) return true;
    // An interface or union the type may implement counts; another object type does not.
    return !isObjectType(this.info.schema.getType(condition));
  }

  /** Every selection of the set, fragments expanded (each named fragment once). */
  private *selections(
    set: SelectionSetNode | undefined,
    checkType: boolean,
    seen = new Set<string>(),
  ): Generator<FieldNode> {
    if (!set) return;
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) yield s;
      else if (s.kind === Kind.INLINE_FRAGMENT) {
        if (this.applies(s.typeCondition?.name.value, checkType))
          yield* this.selections(s.selectionSet, checkType, seen);
      } else {
        const fragment = this.info.fragments[s.name.value];
        if (!fragment || seen.has(s.name.value)) continue;
        seen.add(s.name.value);
        if (this.applies(fragment.typeCondition.name.value, checkType))
          yield* this.selections(fragment.selectionSet, checkType, seen);
      }
    }
  }

  /** The names of the fields selected on rows of the type. */
  fieldsOf(set: SelectionSetNode | undefined, into: Set<string>): void {
    for (const field of this.selections(set, true)) into.add(field.name.value);
  }

  /** The field nodes named `names` in a set of a connection or edge type (not the rows' type). */
  nodesUnder(set: SelectionSetNode | undefined, names: string[]): FieldNode[] {
    const out: FieldNode[] = [];
    for (const field of this.selections(set, false)) {
      if (names.includes(field.name.value)) out.push(field);
    }
    return out;
  }
}
