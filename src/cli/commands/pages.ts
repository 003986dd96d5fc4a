import type { ApiClient } from '../api-client';

interface Connection<T> {
  nodes: T[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/**
 * Every node of the connection `field`, page after page: `query` declares `$after: String` and
 * selects `field(..., after: $after) { nodes { ... } pageInfo { hasNextPage endCursor } }`.
 */
export async function fetchAllPages<T>(
  api: ApiClient,
  field: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<T[]> {
  const nodes: T[] = [];
  let after: string | null = null;
  for (;;) {
    const data = await api.graphql<Record<string, Connection<T>>>(query, { ...variables, after });
    const page: Connection<T> = data[field];
    nodes.push(...page.nodes);
    if (!page.pageInfo.hasNextPage) return nodes;
    after = page.pageInfo.endCursor;
  }
}
