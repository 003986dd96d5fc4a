/**
 * The query clients of the load check: each loops over paged queries, nested queries, filters
 * and exports, pausing between operations, until the deadline. They run in child processes of
 * their own (`fork` this file; `--client-processes`), so that the clients' own work (fetch,
 * parsing answers, garbage collection) does not sit on the loop that times them beside the
 * subscribers and the runner stand-in, nor delay the latency it measures; or in the calling
 * process (0 client processes), as the check first did.
 *
 * Over IPC: `start` (a ClientsStart) -> `result` (a ClientsResult), then the process exits.
 */
import http from 'node:http';
import { PerformanceObserver, monitorEventLoopDelay } from 'node:perf_hooks';
import {
  cpuMsSince,
  runQueueMsSince,
  runQueueNs,
  gcFigures,
  loopFigures,
  type LoopWindow,
} from './loop-delay';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** mulberry32: a small seeded generator, so pauses are reproducible run to run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const OPERATIONS = ['paged', 'nested', 'filter', 'export'] as const;
export type Operation = (typeof OPERATIONS)[number];

/**
 * Kept-alive connections, as fetch keeps them, but through node:http: fetch (undici) cost these
 * processes about as much CPU per operation as the API spent answering it, on the same 2 cores.
 */
const agent = new http.Agent({ keepAlive: true });

/** One HTTP request; resolves with the status and the whole body as text. */
function request(
  url: string,
  method: 'GET' | 'POST',
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method,
        agent,
        // A length, not chunked encoding: what fetch sends for a string body.
        headers:
          body === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** One operation as a client does it; throws on any error (HTTP or GraphQL). */
async function operate(url: string, key: string, op: Operation, k: number): Promise<void> {
  const gql = async (query: string, variables: Record<string, unknown> = {}) => {
    const res = await request(
      `${url}/graphql`,
      'POST',
      { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      JSON.stringify({ query, variables }),
    );
    const body = JSON.parse(res.text) as {
      data?: any;
      errors?: { message: string; extensions?: { code?: string } }[];
    };
    if (res.status !== 200 || body.errors)
      throw new Error(
        `${op}: HTTP ${res.status} ${JSON.stringify(body.errors ?? '').slice(0, 200)}`,
      );
    return body.data;
  };
  if (op === 'paged') {
    let after: string | null = null;
    for (let page = 0; page < 3; page++) {
      const data: any = await gql(
        'query($after: String) { samples(first: 50, after: $after) { nodes { id externalId problem } pageInfo { endCursor hasNextPage } } }',
        { after },
      );
      if (!data.samples.pageInfo.hasNextPage) break;
      after = data.samples.pageInfo.endCursor;
    }
  } else if (op === 'nested') {
    await gql(
      '{ datasets(first: 5) { nodes { name } } samples(first: 20) { nodes { id answer dataset { name } traces(first: 5) { id kind text correct } } } }',
    );
  } else if (op === 'filter') {
    if (k % 2)
      await gql(
        'query($t: [String!]) { samples(first: 50, filter: { tagsAny: $t, domain: "odd" }) { nodes { id tags } } }',
        { t: [`t${k % 7}`] },
      );
    else
      await gql(
        '{ traces(first: 50, filter: { kind: ROLLOUT, correct: true }) { nodes { id kind } } }',
      );
  } else {
    const { status, text } = await request(
      `${url}/v1/datasets/load/samples?tagsAny=t${k % 7}`,
      'GET',
      { authorization: `Bearer ${key}` },
    );
    if (status !== 200 || !text.endsWith('\n'))
      throw new Error(`export: HTTP ${status} ${text.slice(0, 200)}`);
  }
}

export interface ClientsStart {
  type: 'start';
  url: string;
  /** Client k uses keys[k % keys.length]. */
  keys: string[];
  /** The client numbers this process runs (they seed its pauses and pick its operations). */
  clients: number[];
  seed: number;
  thinkMs: number;
  /** Epoch ms: no operation starts after it. */
  deadline: number;
}

export interface ClientsResult {
  type: 'result';
  latencies: Record<Operation, number[]>;
  requests: number;
  errors: number;
  errorExamples: string[];
  /** This process's event-loop delay and GC pauses while its clients ran. */
  loop: LoopWindow;
}

/** Runs the clients of `start` until its deadline. */
export async function runClients(start: Omit<ClientsStart, 'type'>): Promise<ClientsResult> {
  const latencies: Record<Operation, number[]> = { paged: [], nested: [], filter: [], export: [] };
  const errorExamples: string[] = [];
  let errors = 0;
  let requests = 0;
  await Promise.all(
    start.clients.map(async (client) => {
      const random = seeded(start.seed * 100_003 + client);
      const thinkMs = start.thinkMs;
      // Clients start spread over one pause, as users arrive, not all in the same millisecond.
      if (thinkMs > 0) await sleep(random() * thinkMs);
      for (let k = 0; Date.now() < start.deadline; k++) {
        const op = OPERATIONS[(client + k) % OPERATIONS.length];
        const t0 = performance.now();
        try {
          await operate(start.url, start.keys[client % start.keys.length], op, client + k);
          latencies[op].push(performance.now() - t0);
        } catch (err) {
          errors++;
          if (errorExamples.length < 5)
            errorExamples.push(String((err as Error).message).slice(0, 200));
        }
        requests++;
        if (thinkMs > 0) await sleep(thinkMs * (0.5 + random()));
      }
    }),
  );
  return { type: 'result', latencies, requests, errors, errorExamples, loop: emptyWindow() };
}

const emptyWindow = (): LoopWindow => ({
  ms: 0,
  cpuMs: 0,
  loop: { p50: 0, p99: 0, max: 0 },
  gc: { count: 0, totalMs: 0, maxMs: 0 },
});

/** Measures this process's event-loop delay and GC pauses until the returned function is called. */
export function watchOwnLoop(): () => LoopWindow {
  const started = Date.now();
  const cpu = process.cpuUsage();
  const queued = runQueueNs();
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const pauses: number[] = [];
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) pauses.push(entry.duration);
  });
  gc.observe({ entryTypes: ['gc'] });
  return () => {
    loop.disable();
    gc.disconnect();
    return {
      ms: Date.now() - started,
      cpuMs: cpuMsSince(cpu),
      runQueueMs: runQueueMsSince(queued),
      loop: loopFigures(loop),
      gc: gcFigures(pauses),
    };
  };
}

// Forked: run the clients the parent deals out, hand back what they measured, and exit.
if (require.main === module && process.send) {
  process.once('message', (start: ClientsStart) => {
    const stop = watchOwnLoop();
    void runClients(start).then((result) => {
      result.loop = stop();
      // Exits at once: idle keep-alive sockets must not hold it up.
      process.send!(result, () => process.exit(0));
    });
  });
  process.send({ type: 'ready' });
}
