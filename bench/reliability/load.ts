/**
 * The load check: many concurrent clients for a fixed time mixing paged queries, nested
 * queries, filters and bulk exports, a tenth of them subscribed to a run whose events a runner
 * stand-in posts through the runner endpoint meanwhile. Counts errors, latency per operation,
 * the API process's memory over time, and whether every subscriber got every event once; and,
 * to say whose a latency tail is, the event-loop delay, GC pauses and CPU of the API process
 * (through loop-probe.ts) and of the load generator's own processes.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fork, type ChildProcess } from 'node:child_process';
import { collect, wsClient, type Collected } from '../../tests/helpers/live';
import { Database, startApi, sleep, waitFor, type Keys } from './api-process';
import type { ApiPlace } from './faults';
import { RunnerStandIn, compareSeqs } from './runner-stand-in';
import type { LoopWindow } from './loop-delay';
import {
  OPERATIONS,
  runClients,
  watchOwnLoop,
  type ClientsResult,
  type ClientsStart,
} from './load-clients';

/** Preloaded into the API process: its event-loop delay and GC pauses per load window. */
const PROBE = path.join(__dirname, 'loop-probe.js');

export interface LoadOptions {
  clients: number;
  seconds: number;
  /** Samples seeded (each with two traces). */
  samples?: number;
  /**
   * A client's mean pause between operations, ms (each pause drawn uniformly from 0.5x to 1.5x,
   * seeded): people and notebooks read an answer before they ask again. 0: a closed loop that
   * only measures how deep the queue grows at saturation.
   */
  thinkMs?: number;
  /** Seeds the pauses, so two runs with one seed pause alike. */
  seed?: number;
  /**
   * Child processes the query clients are dealt out over (default 2); 0 runs them in this
   * process, beside the subscribers and the runner stand-in, as the check first did.
   */
  clientProcesses?: number;
}

export interface LoadOutcome {
  requests: number;
  errors: number;
  errorExamples: string[];
  /** Per operation: count, p50, p99 (ms). */
  latency: Record<string, { n: number; p50: number; p99: number }>;
  /** Medians of the API's RSS per third of the run (the first third is its warm-up). */
  rssFirstThirdMb: number;
  rssMiddleThirdMb: number;
  rssLastThirdMb: number;
  /** V8 heap used (the API's own /metrics), its floor per ~5 s: printed, not judged. */
  heapMiddleThirdMb: number;
  heapLastThirdMb: number;
  heapSamples: number;
  /**
   * The API's heap right after a full collection (loop-probe.ts), under load at a third, two
   * thirds and just before the end of the run: what stays reachable, judged for growth.
   */
  liveHeapMb: number[];
  subscribers: number;
  eventsEmitted: number;
  streamLost: number;
  streamDuplicated: number;
  apiAlive: boolean;
  secrets: string[];
  /** The API process's event-loop delay and GC pauses while the query clients ran. */
  apiLoop?: LoopWindow;
  /**
   * The same for this process (subscribers, runner stand-in, samplers; and the query clients
   * when they run here): its delay inflates what it measures.
   */
  generatorLoop: LoopWindow;
  /** The same for each client process. */
  clientLoops: LoopWindow[];
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};

const mb = (bytes: number) => Math.round(bytes / 2 ** 20);

/** `nodejs_heap_size_used_bytes` from the API's own Prometheus endpoint (no bench-only hook). */
async function heapUsed(url: string, token: string): Promise<number | undefined> {
  try {
    const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    const text = await res.text();
    const m = /^stagewise_nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)/m.exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Heap used swings with every garbage collection; its floor over a stretch of samples is close
 * to what stays reachable. Windows of 10 samples (5 s or more) hold several collections under load.
 */
function floors(xs: number[], window = 10): number[] {
  const out: number[] = [];
  for (let k = 0; k + window <= xs.length; k += window)
    out.push(Math.min(...xs.slice(k, k + window)));
  return out;
}

function heapThirds(heap: number[]): { heapMiddleThirdMb: number; heapLastThirdMb: number } {
  const f = floors(heap);
  const third = Math.max(1, Math.floor(f.length / 3));
  return {
    heapMiddleThirdMb: mb(median(f.slice(third, 2 * third))),
    heapLastThirdMb: mb(median(f.slice(-third))),
  };
}

function trend(rss: number[], heap: number[]): string[] {
  const lines: string[] = [];
  for (let k = 0; k < 10; k++) {
    const part = <T>(xs: T[]) =>
      xs.slice(Math.floor((k * xs.length) / 10), Math.floor(((k + 1) * xs.length) / 10));
    const h = part(heap);
    lines.push(
      `${k * 10}-${(k + 1) * 10}%: RSS ${mb(median(part(rss)))} MB, heap floor ${h.length ? mb(Math.min(...h)) : '-'} MB, heap max ${h.length ? mb(Math.max(...h)) : '-'} MB`,
    );
  }
  return lines;
}

async function seed(url: string, keys: Keys, samples: number): Promise<void> {
  const post = async (path: string, body: string, contentType: string) => {
    const res = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys.admin}`, 'content-type': contentType },
      body,
    });
    if (res.status !== 200) throw new Error(`seeding ${path}: ${res.status} ${await res.text()}`);
  };
  await post(
    '/graphql',
    JSON.stringify({
      query: 'mutation { createDataset(input: { name: "load", split: TRAIN }) { id } }',
    }),
    'application/json',
  );
  const lines: string[] = [];
  const traces: string[] = [];
  for (let k = 1; k <= samples; k++) {
    lines.push(
      JSON.stringify({
        externalId: `s${k}`,
        problem: `What is ${k} times 3?`,
        answer: String(3 * k),
        tags: [`t${k % 7}`],
        domain: k % 2 ? 'odd' : 'even',
      }),
    );
    for (const kind of ['TEACHER', 'ROLLOUT']) {
      traces.push(
        JSON.stringify({
          sampleExternalId: `s${k}`,
          kind,
          text: `${k} times 3 is ${3 * k}. The answer is \\boxed{${3 * k}}`,
          correct: true,
        }),
      );
    }
  }
  await post('/v1/datasets/load/samples', lines.join('\n') + '\n', 'application/x-ndjson');
  await post('/v1/datasets/load/traces', traces.join('\n') + '\n', 'application/x-ndjson');
}

interface ClientProcess {
  result(start: ClientsStart): Promise<ClientsResult>;
  /** Ends it, if it is still there (a check that stopped half-way). */
  kill(): void;
}

/** A client process, once it said it is ready; `result` starts its clients and awaits them. */
async function forkClients(): Promise<ClientProcess> {
  const child: ChildProcess = fork(path.join(__dirname, 'load-clients.js'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) =>
      reject(new Error(`a load client process exited (${signal ?? code}) before its result`)),
    ),
  );
  exited.catch(() => undefined);
  await Promise.race([
    new Promise<void>((resolve) => child.once('message', () => resolve())),
    exited,
  ]);
  return {
    result(start) {
      const result = new Promise<ClientsResult>((resolve) =>
        child.once('message', (m: ClientsResult) => resolve(m)),
      );
      child.send(start);
      return Promise.race([result, exited]);
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

export async function runLoad(
  place: ApiPlace,
  opts: LoadOptions,
  log: (line: string) => void,
): Promise<LoadOutcome> {
  // A token of our own, so a METRICS_TOKEN in the caller's environment cannot hide the heap.
  const metricsToken = randomBytes(24).toString('hex');
  const probeFile = path.join(path.dirname(place.logFile), 'api-loop.jsonl');
  const heapProbeFile = path.join(path.dirname(place.logFile), 'api-heap.jsonl');
  fs.rmSync(probeFile, { force: true });
  fs.rmSync(heapProbeFile, { force: true });
  const api = await startApi({
    ...place,
    env: {
      DB_POOL_SIZE: '20',
      METRICS_TOKEN: metricsToken,
      STAGEWISE_LOOP_PROBE_FILE: probeFile,
      STAGEWISE_HEAP_PROBE_FILE: heapProbeFile,
    },
    // E.g. `--cpu-prof --cpu-prof-dir=DIR`, which NODE_OPTIONS may not carry: whose the tail is.
    nodeArgs: [
      '--require',
      PROBE,
      ...(process.env.LOAD_API_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
    ],
  });
  /**
   * Signals the API's probe and resolves with the JSON line it appends to `file` in answer
   * (undefined when the API is gone or the probe does not answer).
   */
  const askProbe = async <T>(signal: NodeJS.Signals, file: string): Promise<T | undefined> => {
    const lines = () =>
      fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
    const before = lines().length;
    if (!api.alive()) return undefined;
    api.child.kill(signal);
    try {
      const line = await waitFor(`the API's probe (${signal})`, () => lines()[before], 10_000, 20);
      return JSON.parse(line) as T;
    } catch {
      return undefined;
    }
  };
  /** The loop figures since the probe's last report. */
  const probeWindow = () => askProbe<LoopWindow>('SIGUSR2', probeFile);
  /** The heap after a full collection, in bytes. */
  const liveHeap = async () =>
    (await askProbe<{ liveHeapBytes: number }>('SIGWINCH', heapProbeFile))?.liveHeapBytes;
  const db = await Database.open(place.databaseUrl);
  const keys = await db.keys();
  const subscriberCount = Math.max(1, Math.floor(opts.clients / 10));
  const queryClients = opts.clients - subscriberCount;
  const children: ClientProcess[] = [];
  try {
    await seed(api.url, keys, opts.samples ?? 2000);
    const standIn = new RunnerStandIn(() => api.url, await db.runnerRun());
    const wsClients = Array.from({ length: subscriberCount }, () => wsClient(api.url, keys.read));
    const subs: Collected<{ seq: number }>[] = wsClients.map((c) =>
      collect(
        c,
        'runEvents',
        'subscription($runId: ID!) { runEvents(runId: $runId) { seq type payload } }',
        { runId: standIn.run.runId },
      ),
    );
    await sleep(1000);
    log(
      `load: ${queryClients} query clients and ${subscriberCount} subscribers for ${opts.seconds} s`,
    );

    // The query clients' processes, started (and ready) before the window opens.
    const processes = opts.clientProcesses ?? 2;
    for (let n = 0; n < processes; n++) children.push(await forkClients());
    let errors = 0;
    const rss: number[] = [];
    const heap: number[] = [];
    // The window opens: the API's probe and this process's own loop and GC count from here.
    await probeWindow();
    const stopOwnLoop = watchOwnLoop();
    const started = Date.now();
    const deadline = started + opts.seconds * 1000;
    const sampler = setInterval(() => rss.push(api.rss()), 500);
    // One scrape at a time: a slow answer under load must not pile up scrapes on the API.
    const heapSampler = (async () => {
      while (Date.now() < deadline) {
        const bytes = await heapUsed(api.url, metricsToken);
        if (bytes !== undefined) heap.push(bytes);
        await sleep(500);
      }
    })();
    // Under load, after warm-up (a third in), two thirds in and a second before the end.
    const liveHeapBytes: number[] = [];
    const liveHeapReadings = (async () => {
      const ms = opts.seconds * 1000;
      for (const at of [ms / 3, (2 * ms) / 3, ms - Math.min(1000, ms / 6)]) {
        await sleep(Math.max(0, started + at - Date.now()));
        const bytes = await liveHeap();
        if (bytes !== undefined) liveHeapBytes.push(bytes);
      }
    })();
    // The runner stand-in reports a few events every 200 ms while the clients run.
    const reporter = (async () => {
      let step = 0;
      while (Date.now() < deadline) {
        standIn.emit('PROGRESS', { step: ++step });
        standIn.emit('METRIC', { 'train/loss': 1 / step });
        if (!(await standIn.flush())) errors++;
        await sleep(200);
      }
      standIn.finish();
      if (!(await standIn.flushWithin(30_000))) errors++;
    })();
    const start = (clients: number[]): Omit<ClientsStart, 'type'> => ({
      url: api.url,
      keys: [keys.read, keys.write, keys.admin],
      clients,
      seed: opts.seed ?? 1,
      thinkMs: opts.thinkMs ?? 0,
      deadline,
    });
    // Client k goes to process k mod N, so each process runs every kind of client.
    const all = Array.from({ length: queryClients }, (_, k) => k);
    const results: ClientsResult[] = await Promise.all(
      children.length
        ? children.map((child, n) =>
            child.result({
              type: 'start',
              ...start(all.filter((k) => k % children.length === n)),
            }),
          )
        : [runClients(start(all))],
    );
    const apiLoop = await probeWindow();
    const generatorLoop = stopOwnLoop();
    const clientLoops = children.length ? results.map((r) => r.loop) : [];
    const latencies = Object.fromEntries(
      OPERATIONS.map((op) => [op, results.flatMap((r) => r.latencies[op])]),
    ) as ClientsResult['latencies'];
    const requests = results.reduce((n, r) => n + r.requests, 0);
    errors += results.reduce((n, r) => n + r.errors, 0);
    const errorExamples = results.flatMap((r) => r.errorExamples).slice(0, 5);
    await reporter;
    clearInterval(sampler);
    await heapSampler;
    await liveHeapReadings;
    await Promise.race([Promise.allSettled(subs.map((s) => s.done)), sleep(30_000)]);
    const serverSeqs = (
      await db.ds.query<{ seq: number }[]>(
        `SELECT seq FROM run_events WHERE run_id = $1 ORDER BY seq`,
        [standIn.run.pk],
      )
    ).map((r) => Number(r.seq));
    let streamLost = 0;
    let streamDuplicated = 0;
    for (const s of subs) {
      const c = compareSeqs(
        s.items.map((e) => e.seq),
        serverSeqs,
      );
      streamLost += c.lost;
      streamDuplicated += c.duplicated;
      if (s.errors.length) {
        errors++;
        if (errorExamples.length < 5)
          errorExamples.push(`subscription: ${JSON.stringify(s.errors[0]).slice(0, 200)}`);
      }
    }
    for (const c of wsClients) await c.dispose();
    const third = Math.max(1, Math.floor(rss.length / 3));
    for (const line of trend(rss, heap)) log(`load memory ${line}`);
    return {
      requests,
      errors,
      errorExamples,
      latency: Object.fromEntries(
        OPERATIONS.map((op) => {
          const sorted = [...latencies[op]].sort((a, b) => a - b);
          return [
            op,
            {
              n: sorted.length,
              p50: Math.round(percentile(sorted, 50)),
              p99: Math.round(percentile(sorted, 99)),
            },
          ];
        }),
      ),
      rssFirstThirdMb: Math.round(median(rss.slice(0, third)) / 2 ** 20),
      rssMiddleThirdMb: mb(median(rss.slice(third, 2 * third))),
      rssLastThirdMb: Math.round(median(rss.slice(-third)) / 2 ** 20),
      ...heapThirds(heap),
      heapSamples: heap.length,
      liveHeapMb: liveHeapBytes.map(mb),
      subscribers: subscriberCount,
      eventsEmitted: standIn.emitted,
      streamLost,
      streamDuplicated,
      apiAlive: api.alive(),
      secrets: [...db.keysMade],
      apiLoop,
      generatorLoop,
      clientLoops,
    };
  } finally {
    for (const child of children) child.kill();
    await api.kill();
    await db.close();
  }
}
