/**
 * The two query shapes of the API benchmark, written for each server the way its clients write
 * them (stagewise: Relay connection with cursors; PostGraphile: its generated `allSamples`
 * connection with the `tracesBySampleId` relation), and how both answers reduce to the same plain
 * data, so the benchmark can prove they carry the same content before it times them.
 */
import { fromGlobalId } from '../../src/common/ids';

export type ServerName = 'stagewise' | 'PostGraphile';

export interface QueryShape {
  name: 'big' | 'small';
  description: string;
  text: Record<ServerName, string>;
}

/** A sample as both answers reduce to: row ids as decimal strings, traces in order. */
interface PlainSample {
  id: string;
  externalId: string;
  problem: string;
  answer: string;
  traces?: { id: string; kind: string; correct: boolean | null; text: string }[];
}

export interface PlainPage {
  samples: PlainSample[];
  hasNextPage: boolean;
}

const SAMPLE_FIELDS = 'id externalId problem answer';
const TRACE_FIELDS = 'id kind correct text';

function shape(name: QueryShape['name'], samples: number, traces: number): QueryShape {
  const stagewiseTraces = traces ? ` traces(first: ${traces}) { ${TRACE_FIELDS} }` : '';
  const pgTraces = traces
    ? ` tracesBySampleId(first: ${traces}, orderBy: PRIMARY_KEY_ASC) { nodes { ${TRACE_FIELDS} } }`
    : '';
  return {
    name,
    description: traces
      ? `${samples} samples with their first ${traces} traces (${TRACE_FIELDS.split(' ').join(', ')})`
      : `${samples} samples, no traces`,
    text: {
      stagewise: `{ samples(first: ${samples}) { edges { cursor node { ${SAMPLE_FIELDS}${stagewiseTraces} } } pageInfo { hasNextPage endCursor } } }`,
      PostGraphile: `{ allSamples(first: ${samples}, orderBy: PRIMARY_KEY_ASC) { edges { cursor node { ${SAMPLE_FIELDS}${pgTraces} } } pageInfo { hasNextPage endCursor } } }`,
    },
  };
}

export const QUERIES: QueryShape[] = [shape('big', 100, 10), shape('small', 20, 0)];

interface Edge<N> {
  cursor: string;
  node: N;
}

interface Connection<N> {
  edges: Edge<N>[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

type TraceOf<Id> = { id: Id; kind: string; correct: boolean | null; text: string };
type SampleOf<Id> = { id: Id; externalId: string; problem: string; answer: string };

/** Every edge and the page carry a cursor (their values are each server's own encoding). */
function checkCursors(page: Connection<unknown>, server: ServerName): void {
  const ok =
    page.edges.every((e) => typeof e.cursor === 'string' && e.cursor.length > 0) &&
    page.pageInfo.endCursor === page.edges[page.edges.length - 1]?.cursor;
  if (!ok) throw new Error(`${server}: an edge or the page lacks its cursor`);
}

export function plainPage(server: ServerName, body: unknown): PlainPage {
  const { data, errors } = body as { data?: Record<string, unknown>; errors?: unknown };
  if (errors || !data) throw new Error(`${server} answered with errors: ${JSON.stringify(errors)}`);
  if (server === 'stagewise') {
    type Node = SampleOf<string> & { traces?: TraceOf<string>[] };
    const page = data.samples as Connection<Node>;
    checkCursors(page, server);
    return {
      hasNextPage: page.pageInfo.hasNextPage,
      samples: page.edges.map(({ node }) => ({
        ...node,
        id: fromGlobalId(node.id).id,
        ...(node.traces && {
          traces: node.traces.map((t) => ({ ...t, id: fromGlobalId(t.id).id })),
        }),
      })),
    };
  }
  type Node = SampleOf<string> & { tracesBySampleId?: { nodes: TraceOf<string>[] } };
  const page = data.allSamples as Connection<Node>;
  checkCursors(page, server);
  return {
    hasNextPage: page.pageInfo.hasNextPage,
    samples: page.edges.map(({ node: { tracesBySampleId, ...sample } }) => ({
      ...sample,
      ...(tracesBySampleId && { traces: tracesBySampleId.nodes }),
    })),
  };
}
