/**
 * `stagewise runs ...`: start, list, watch, cancel and retry runs.
 *
 * `runs watch` follows the runEvents subscription (graphql-ws on /graphql) from the last seq it
 * has seen, so a dropped connection resumes where it stopped; when the subscription cannot be
 * used it polls run.events(afterSeq) instead.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import cliProgress from 'cli-progress';
import { ApiClient, ApiError, UsageError } from '../api-client';
import { EXIT } from './shared';
import {
  intOption,
  jsonObjectOption,
  launcherOption,
  noPositionals,
  oneId,
  parse,
  runSubcommand,
} from './args';
import { clock, dateTime, formatDuration, formatNumber, printList, stepProgress } from './output';
import { fetchAllPages } from './pages';
import { datasetIdByName } from './datasets';
import { exitOnCtrlC, followSubscription } from './follow';

export const RUNS_USAGE = `Usage:
  stagewise runs start --stage SFT|PROBE|RL|EVAL --dataset NAME [--config JSON]
                       [--checkpoint ID] [--producer builtin-teacher-explicit] [--limit N]
                       [--launcher local|slurm|kubernetes] [--watch WATCH_OPTIONS]
  stagewise runs list [--status RUNNING,FAILED,...] [--stage SFT] [--json]
  stagewise runs watch ID [WATCH_OPTIONS]
  stagewise runs cancel ID
  stagewise runs retry ID [--watch WATCH_OPTIONS]

WATCH_OPTIONS: [--logs] [--plain] [--poll] [--reconnect-timeout 120]; the same wherever a run
is watched (--plain: one line per event, no redrawn bar, even on a terminal).

runs start prints the new run's id on stdout. runs watch exits with the run's outcome:
0 SUCCEEDED, 1 FAILED, 2 CANCELLED, 3 usage or connection error (no server, wrong key,
unknown run, connection lost for longer than --reconnect-timeout seconds, default 120).`;

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
const STAGES = ['PROBE', 'SFT', 'RL', 'EVAL', 'BRIDGE', 'CRITIQUE'];
const STATUSES = [
  'QUEUED',
  'STARTING',
  'RUNNING',
  'CANCELLING',
  'SUCCEEDED',
  'FAILED',
  'CANCELLED',
];
const RUN_FIELDS = `id stage status attempt launcher progress metrics error exitCode
  createdAt startedAt finishedAt
  inputCheckpoint { id name } outputCheckpoint { id name }`;

export interface RunInfo {
  id: string;
  stage: string;
  status: string;
  attempt: number;
  launcher: string;
  progress: { step?: number; totalSteps?: number; etaSeconds?: number } | null;
  metrics: Record<string, unknown>;
  error: string | null;
  exitCode: number | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  inputCheckpoint: { id: string; name: string } | null;
  outputCheckpoint: { id: string; name: string } | null;
}

export interface RunEventData {
  seq: number;
  type: 'STATUS' | 'PROGRESS' | 'METRIC' | 'LOG' | 'ARTIFACT';
  payload: Record<string, unknown>;
  at: string;
}

export function exitCodeFor(status: string): number {
  if (status === 'SUCCEEDED') return EXIT.OK;
  if (status === 'CANCELLED') return EXIT.CANCELLED;
  return EXIT.FAILED;
}

async function fetchRun(api: ApiClient, id: string): Promise<RunInfo> {
  const { run } = await api.graphql<{ run: RunInfo }>(
    `query($id: ID!) { run(id: $id) { ${RUN_FIELDS} } }`,
    { id },
  );
  return run;
}

// ---------------------------------------------------------------------------------------------
// start, cancel, retry, list

/** `runs watch`'s output flags, taken alike by every `--watch` (start, retry). */
const WATCH_FLAGS = {
  logs: { type: 'boolean', default: false },
  plain: { type: 'boolean', default: false },
  poll: { type: 'boolean', default: false },
  'reconnect-timeout': { type: 'string' },
} as const;

function watchOptions(values: {
  logs?: boolean;
  plain?: boolean;
  poll?: boolean;
  'reconnect-timeout'?: string;
}): WatchOptions {
  return {
    logs: values.logs,
    plain: values.plain,
    poll: values.poll,
    reconnectTimeoutSeconds: intOption(values['reconnect-timeout'], 'reconnect-timeout', 1),
  };
}

async function start(api: ApiClient, argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      stage: { type: 'string' },
      dataset: { type: 'string' },
      config: { type: 'string' },
      checkpoint: { type: 'string' },
      producer: { type: 'string' },
      limit: { type: 'string' },
      launcher: { type: 'string', default: 'local' },
      watch: { type: 'boolean', default: false },
      ...WATCH_FLAGS,
    },
    RUNS_USAGE,
  );
  noPositionals(positionals);
  const stage = values.stage?.toUpperCase();
  if (!stage || !STAGES.includes(stage)) {
    throw new UsageError(`--stage must be one of ${STAGES.join(', ')}\n\n${RUNS_USAGE}`);
  }
  const launcher = launcherOption(values.launcher);
  const config = jsonObjectOption(values.config, 'config') ?? {};
  const limit = intOption(values.limit, 'limit', 1);

  let selection: Record<string, unknown> | null = null;
  if (values.dataset) {
    const datasetId = await datasetIdByName(api, values.dataset);
    const sft = stage === 'SFT';
    selection = {
      filter: { datasetIds: [datasetId] },
      traceKinds: sft ? ['TEACHER'] : null,
      traceProducer: sft
        ? (values.producer ?? 'builtin-teacher-explicit')
        : (values.producer ?? null),
      limit: limit ?? null,
    };
  } else if (values.producer || limit !== undefined) {
    throw new UsageError('--producer and --limit select samples: give --dataset too');
  }

  const { startRun } = await api.graphql<{ startRun: RunInfo }>(
    `mutation($input: StartRunInput!) { startRun(input: $input) { ${RUN_FIELDS} } }`,
    {
      input: {
        stage,
        config,
        inputCheckpointId: values.checkpoint ?? null,
        selection,
        launcher,
      },
    },
  );
  console.error(
    `Started ${startRun.stage} run ${startRun.id} (${startRun.status}, launcher ${launcher.toLowerCase()})`,
  );
  console.log(startRun.id);
  if (values.watch) return new RunWatcher(api, startRun.id, watchOptions(values)).watch();
  return EXIT.OK;
}

async function cancel(api: ApiClient, argv: string[]): Promise<number> {
  const { positionals } = parse(argv, {}, RUNS_USAGE);
  const id = oneId(positionals, 'runs cancel', 'run', RUNS_USAGE);
  const { cancelRun } = await api.graphql<{ cancelRun: RunInfo }>(
    `mutation($id: ID!) { cancelRun(id: $id) { ${RUN_FIELDS} } }`,
    { id },
  );
  console.log(`Run ${cancelRun.id}: ${cancelRun.status}`);
  return EXIT.OK;
}

async function retry(api: ApiClient, argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { watch: { type: 'boolean', default: false }, ...WATCH_FLAGS },
    RUNS_USAGE,
  );
  const id = oneId(positionals, 'runs retry', 'run', RUNS_USAGE);
  const { retryRun } = await api.graphql<{ retryRun: RunInfo }>(
    `mutation($id: ID!) { retryRun(id: $id) { ${RUN_FIELDS} } }`,
    { id },
  );
  console.error(
    `Retrying ${id} as run ${retryRun.id} (attempt ${retryRun.attempt}, ${retryRun.status})`,
  );
  console.log(retryRun.id);
  if (values.watch) return new RunWatcher(api, retryRun.id, watchOptions(values)).watch();
  return EXIT.OK;
}

function listCsv(value: string | undefined, allowed: string[], name: string): string[] | null {
  if (!value) return null;
  const items = value
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  const wrong = items.filter((s) => !allowed.includes(s));
  if (wrong.length)
    throw new UsageError(`--${name}: unknown ${wrong.join(', ')}; use ${allowed.join(', ')}`);
  return items;
}

function stepOf(run: RunInfo): string {
  const p = run.progress;
  return p?.totalSteps ? `${p.step ?? 0}/${p.totalSteps}` : '-';
}

function durationOf(run: RunInfo): string {
  if (!run.startedAt) return '-';
  const end = run.finishedAt ? Date.parse(run.finishedAt) : Date.now();
  return formatDuration((end - Date.parse(run.startedAt)) / 1000);
}

async function list(api: ApiClient, argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      status: { type: 'string' },
      stage: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    RUNS_USAGE,
  );
  noPositionals(positionals);
  const status = listCsv(values.status, STATUSES, 'status');
  const stage = listCsv(values.stage, STAGES, 'stage');
  if (stage && stage.length > 1) throw new UsageError('--stage takes one stage');
  const filter = { ...(status ? { status } : {}), ...(stage ? { stage: stage[0] } : {}) };
  const runs = await fetchAllPages<RunInfo>(
    api,
    'runs',
    `query($filter: RunFilter, $after: String) {
      runs(first: 100, filter: $filter, after: $after) {
        nodes { ${RUN_FIELDS} } pageInfo { hasNextPage endCursor }
      }
    }`,
    { filter },
  );
  return printList(runs, {
    json: values.json,
    empty: 'No runs.',
    headers: ['ID', 'STAGE', 'STATUS', 'ATTEMPT', 'STEP', 'TIME', 'CREATED', 'OUTPUT / ERROR'],
    row: (r) => [
      r.id,
      r.stage,
      r.status,
      String(r.attempt),
      stepOf(r),
      durationOf(r),
      dateTime(r.createdAt),
      r.outputCheckpoint?.name ?? (r.error ? r.error.split('\n')[0].slice(0, 60) : ''),
    ],
  });
}

// ---------------------------------------------------------------------------------------------
// watch

/** Metrics worth a place on the progress bar, in this order; others follow when there is room. */
const PREFERRED_METRICS = [
  'train/loss',
  'train/reward_mean',
  'train/accuracy',
  'probe/pass_at_1',
  'eval/accuracy',
  'train/tokens_per_s',
];

function metricSummary(metrics: Record<string, unknown>, max = 3): string {
  const names = Object.keys(metrics).filter(
    (k) => k !== 'step' && !k.startsWith('time/') && typeof metrics[k] === 'number',
  );
  const ordered = [
    ...PREFERRED_METRICS.filter((k) => names.includes(k)),
    ...names.filter((k) => !PREFERRED_METRICS.includes(k)),
  ].slice(0, max);
  return ordered.map((k) => `${k}=${formatNumber(metrics[k])}`).join(' ');
}

interface Display {
  line(text: string): void;
  progress(step: number, total: number, etaSeconds: number | undefined, metrics: string): void;
  stop(): void;
}

/** Plain lines for pipes and CI: every status line, a progress line at most every 2 s and the last. */
class PlainDisplay implements Display {
  private lastPrinted = 0;
  private lastStep = -1;

  line(text: string): void {
    process.stdout.write(text + '\n');
  }

  progress(step: number, total: number, etaSeconds: number | undefined, metrics: string): void {
    const now = Date.now();
    if (step === this.lastStep) return;
    if (this.lastStep >= 0 && step < total && now - this.lastPrinted < 2000) return;
    this.lastPrinted = now;
    this.lastStep = step;
    this.line(`[${clock()}] ${stepProgress(step, total, etaSeconds, metrics)}`);
  }

  stop(): void {}
}

/** A redrawn cli-progress bar; other output goes above it. */
class TtyDisplay implements Display {
  private readonly multi = new cliProgress.MultiBar(
    {
      format: '  {bar} {value}/{total} steps {percentage}% | ETA {etaText} | {metrics}',
      barsize: 28,
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      stream: process.stdout,
      gracefulExit: true,
    },
    cliProgress.Presets.shades_classic,
  );
  private bar: cliProgress.SingleBar | undefined;

  private stopped = false;

  line(text: string): void {
    if (this.bar && !this.stopped) this.multi.log(text + '\n');
    else process.stdout.write(text + '\n');
  }

  progress(step: number, total: number, etaSeconds: number | undefined, metrics: string): void {
    const payload = {
      etaText: etaSeconds !== undefined && step < total ? formatDuration(etaSeconds) : '-',
      metrics,
    };
    if (this.stopped) return;
    if (!this.bar) this.bar = this.multi.create(total, step, payload);
    else {
      this.bar.setTotal(total);
      this.bar.update(step, payload);
    }
  }

  stop(): void {
    if (this.bar && !this.stopped) {
      this.multi.update(); // flushes lines logged since the last redraw; stop() drops them
      this.multi.stop();
    }
    this.stopped = true;
  }
}

export interface WatchOptions {
  logs?: boolean;
  plain?: boolean;
  poll?: boolean;
  reconnectTimeoutSeconds?: number;
}

const RUN_EVENTS = `subscription($runId: ID!, $afterSeq: Int) {
  runEvents(runId: $runId, afterSeq: $afterSeq) { seq type payload at }
}`;

/** Follows one run to its end; `watch()` resolves to the exit code. */
export class RunWatcher {
  private lastSeq = 0;
  private status = '';
  private step = 0;
  private totalSteps = 0;
  private etaSeconds: number | undefined;
  private readonly metrics: Record<string, unknown> = {};
  private readonly recentLogs: string[] = [];
  private readonly checkpoints = new Set<string>();
  private readonly display: Display;
  private readonly reconnectMs: number;

  constructor(
    private readonly api: ApiClient,
    private readonly runId: string,
    private readonly options: WatchOptions = {},
  ) {
    this.display = process.stdout.isTTY && !options.plain ? new TtyDisplay() : new PlainDisplay();
    this.reconnectMs = (options.reconnectTimeoutSeconds ?? 120) * 1000;
  }

  async watch(): Promise<number> {
    const run = await fetchRun(this.api, this.runId);
    const from = run.inputCheckpoint ? ` from ${run.inputCheckpoint.name}` : ' from scratch';
    this.display.line(
      `Watching ${run.stage} run ${run.id} (attempt ${run.attempt}, launcher ${run.launcher}${from}): ${run.status}`,
    );
    const stopExitOnCtrlC = exitOnCtrlC(
      `run ${this.runId}`,
      `stagewise runs cancel ${this.runId}`,
      () => this.display.stop(),
    );
    try {
      if (this.options.poll) await this.poll();
      else await this.follow();
      // The stream completes once the run has ended; read the outcome as stored.
      let final = await fetchRun(this.api, this.runId);
      while (!TERMINAL.has(final.status)) {
        await sleep(500);
        await this.pollOnce();
        final = await fetchRun(this.api, this.runId);
      }
      this.finish(final);
      return exitCodeFor(final.status);
    } finally {
      stopExitOnCtrlC();
      this.display.stop();
      await this.api.close();
    }
  }

  private handle(event: RunEventData): void {
    if (event.seq <= this.lastSeq) return;
    this.lastSeq = event.seq;
    const p = event.payload ?? {};
    switch (event.type) {
      case 'STATUS': {
        if (p.status === this.status) break;
        this.status = String(p.status);
        const msg = typeof p.message === 'string' ? `: ${p.message.split('\n')[0]}` : '';
        this.display.line(`[${clock(event.at)}] ${this.status}${msg}`);
        break;
      }
      case 'PROGRESS':
        if (typeof p.totalSteps === 'number') this.totalSteps = p.totalSteps;
        if (typeof p.step === 'number') this.step = p.step;
        this.etaSeconds = typeof p.etaSeconds === 'number' ? p.etaSeconds : undefined;
        this.redraw();
        break;
      case 'METRIC':
        Object.assign(this.metrics, p);
        if (this.totalSteps) this.redraw();
        break;
      case 'LOG': {
        const text = `[${typeof p.stream === 'string' ? p.stream : 'log'}] ${typeof p.line === 'string' ? p.line : ''}`;
        this.recentLogs.push(text);
        if (this.recentLogs.length > 20) this.recentLogs.shift();
        if (this.options.logs) this.display.line(text);
        break;
      }
      case 'ARTIFACT': {
        const name = typeof p.name === 'string' ? p.name : typeof p.uri === 'string' ? p.uri : '';
        if (p.kind === 'checkpoint' && !this.checkpoints.has(name)) {
          this.checkpoints.add(name);
          const step = typeof p.step === 'number' ? ` (step ${p.step})` : '';
          this.display.line(`[${clock(event.at)}] checkpoint ${name}${step}`);
        }
        break;
      }
    }
  }

  private redraw(): void {
    this.display.progress(this.step, this.totalSteps, this.etaSeconds, metricSummary(this.metrics));
  }

  /** The subscription, resumed from lastSeq after each drop; polling when it is not served. */
  private follow(): Promise<void> {
    return followSubscription({
      api: this.api,
      reconnectMs: this.reconnectMs,
      notServed: /runEvents|Subscription/,
      subscription: 'runEvents subscription',
      pollTarget: 'run.events',
      resumeNote: () => `resuming after seq ${this.lastSeq}`,
      subscribeOnce: () => this.subscribeOnce(),
      received: () => this.lastSeq,
      httpAnswers: () => this.httpReachable(),
      poll: () => this.poll(),
      line: (text) => this.display.line(text),
    });
  }

  private async httpReachable(): Promise<boolean> {
    try {
      await fetchRun(this.api, this.runId);
      return true;
    } catch {
      return false;
    }
  }

  private subscribeOnce(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.api.subscribe<{ runEvents: RunEventData }>(
        RUN_EVENTS,
        { runId: this.runId, afterSeq: this.lastSeq },
        {
          next: (data) => this.handle(data.runEvents),
          error: reject,
          complete: resolve,
        },
      );
    });
  }

  /**
   * One page of run.events after lastSeq, and whether the run's log is complete. Both come
   * from one request: eventsComplete is read first, so a complete log means the page holds
   * everything up to its end.
   */
  private async pollOnce(): Promise<{ complete: boolean; count: number }> {
    const { run } = await this.api.graphql<{
      run: { eventsComplete: boolean; events: RunEventData[] };
    }>(
      `query($id: ID!, $after: Int!) {
        run(id: $id) { eventsComplete events(afterSeq: $after, first: 500) { seq type payload at } }
      }`,
      { id: this.runId, after: this.lastSeq },
    );
    for (const e of run.events) this.handle(e);
    return { complete: run.eventsComplete, count: run.events.length };
  }

  private async poll(): Promise<void> {
    let lostSince: number | undefined;
    for (;;) {
      try {
        const { complete, count } = await this.pollOnce();
        lostSince = undefined;
        if (count >= 500) continue;
        // Not at the terminal STATUS: the last output lines are stored after it.
        if (complete) return;
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 'CONNECTION')) throw err;
        lostSince ??= Date.now();
        if (Date.now() - lostSince > this.reconnectMs) throw err;
      }
      await sleep(1000);
    }
  }

  private finish(run: RunInfo): void {
    if (run.progress?.totalSteps && run.progress.step !== undefined) {
      this.step = run.progress.step;
      this.totalSteps = run.progress.totalSteps;
      this.etaSeconds = undefined;
      this.redraw();
    }
    this.display.stop();
    if (this.status !== run.status)
      this.display.line(`[${clock(run.finishedAt ?? undefined)}] ${run.status}`);
    const metrics = metricSummary({ ...this.metrics, ...run.metrics }, 8);
    const parts = [
      `Run ${run.id} ${run.status}`,
      run.startedAt ? `in ${durationOf(run)}` : '',
      this.totalSteps ? `at step ${this.step}/${this.totalSteps}` : '',
    ].filter(Boolean);
    this.display.line(parts.join(' '));
    if (metrics) this.display.line(`  metrics: ${metrics}`);
    if (run.outputCheckpoint) {
      this.display.line(
        `  output checkpoint: ${run.outputCheckpoint.name} (${run.outputCheckpoint.id})`,
      );
    }
    if (run.status === 'FAILED') {
      if (run.error) this.display.line(`  error: ${run.error}`);
      if (!this.options.logs && this.recentLogs.length) {
        this.display.line('  last log lines:');
        for (const l of this.recentLogs.slice(-10)) this.display.line(`    ${l}`);
      }
    }
  }
}

async function watch(api: ApiClient, argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, WATCH_FLAGS, RUNS_USAGE);
  const id = oneId(positionals, 'runs watch', 'run', RUNS_USAGE);
  return new RunWatcher(api, id, watchOptions(values)).watch();
}

export async function runsCommand(api: ApiClient, argv: string[]): Promise<number> {
  return runSubcommand(api, argv, { start, list, watch, cancel, retry }, RUNS_USAGE);
}
