/**
 * `stagewise curricula ...`: create a multi-round curriculum, list curricula, show one round by
 * round, follow one live, and move it on (advance, resume, cancel).
 *
 * `curricula watch` follows the curriculumUpdated subscription (graphql-ws on /graphql) and,
 * for the progress of its runs, runUpdated filtered on the curriculum; it re-reads the
 * curriculum over HTTP after subscribing and every 15 s, so an update missed while (re)connecting
 * is never waited on for long. A dropped connection is resubscribed; when the WebSocket keeps
 * failing while HTTP answers, it polls.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiClient, ApiError, UsageError } from '../api-client';
import { EXIT } from './shared';
import {
  choiceOption,
  intOption,
  jsonObjectOption,
  launcherOption,
  listOption,
  noPositionals,
  oneId,
  parse,
  requireOptions,
  runSubcommand,
  type Subcommand,
} from './args';
import {
  clock,
  dateTime,
  formatDuration,
  formatNumber,
  printJson,
  printList,
  stepProgress,
  table,
} from './output';
import { fetchAllPages } from './pages';
import { resolveDatasetIds } from './datasets';
import { exitOnCtrlC, followSubscription } from './follow';

export const CURRICULA_USAGE = `Usage:
  stagewise curricula create --name NAME --dataset NAME_OR_ID [--dataset ...]
                             --eval-dataset NAME_OR_ID [--eval-dataset ...] --base CHECKPOINT_ID
                             --policy POLICY_ID [--rounds 2] [--stage-configs JSON]
                             [--launcher local|slurm|kubernetes] [--no-auto-advance] [--json]
  stagewise curricula list [--status ACTIVE|PAUSED|SUCCEEDED|CANCELLED] [--json]
  stagewise curricula status ID [--json]
  stagewise curricula watch ID [--quiet] [--plain] [--reconnect-timeout 120]
  stagewise curricula advance ID | resume ID | cancel ID [--json]

curricula create prints the new curriculum's id on stdout. --stage-configs is the config of its
runs per stage, e.g. '{"SFT": {"steps": 150, "lr": 3e-4}, "RL": {"steps": 40}}' (PROBE's k and
temperature come from the policy). Without --no-auto-advance it starts its first PROBE within
seconds; with it, it moves only on \`curricula advance ID\`.
curricula status prints one line per round: start -> end checkpoint, samples per stage, moves
since the last round, bridged traces, critique yield, eval accuracy against the base checkpoint.
curricula watch prints each phase change (and its runs' progress, but with --quiet) and exits
with the curriculum's outcome: 0 SUCCEEDED, 1 PAUSED (the reason is printed), 2 CANCELLED,
3 usage or connection error (no server, wrong key, unknown curriculum, connection lost for longer
than --reconnect-timeout seconds).`;

const STATUSES = ['ACTIVE', 'PAUSED', 'SUCCEEDED', 'CANCELLED'];
const TERMINAL = new Set(['SUCCEEDED', 'PAUSED', 'CANCELLED']);

interface RunView {
  id: string;
  stage: string;
  status: string;
  round: number | null;
  progress: { step?: number; totalSteps?: number; etaSeconds?: number } | null;
  metrics: Record<string, unknown> | null;
  startedAt?: string | null;
  finishedAt?: string | null;
  error?: string | null;
}

interface RoundStats {
  samplesPerStage?: Record<string, number>;
  unrouted?: number;
  moved?: number;
  moves?: Record<string, number>;
  bridge?: Record<string, unknown>;
  critiques?: { harvested?: number; written?: number; verified?: number };
  evalAccuracy?: number | null;
  baseEvalAccuracy?: number | null;
}

interface RoundView {
  round: number;
  startCheckpoint: { id: string; name: string } | null;
  sftCheckpoint: { id: string; name: string } | null;
  endCheckpoint: { id: string; name: string } | null;
  stats: RoundStats;
}

export interface CurriculumView {
  id: string;
  name: string;
  phase: string;
  status: string;
  pauseReason: string | null;
  currentRound: number;
  rounds: number;
  roundResults: RoundView[];
  launcher: string;
  autoAdvance: boolean;
  stageConfigs: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
  baseCheckpoint: { id: string; name: string };
  policy: { id: string; name: string; version: number; bridgeStrategy: string };
  datasets: { id: string; name: string }[];
  evalDatasets: { id: string; name: string }[];
  currentRun: RunView | null;
}

const RUN_FIELDS = `id stage status round progress metrics startedAt finishedAt error`;

/** Everything `status` and `watch` show; `roundResults` is the rounds with their figures. */
const CURRICULUM_FIELDS = `id name phase status pauseReason currentRound rounds launcher autoAdvance
  stageConfigs createdAt updatedAt
  baseCheckpoint { id name }
  policy { id name version bridgeStrategy }
  datasets { id name } evalDatasets { id name }
  currentRun { ${RUN_FIELDS} }
  roundResults {
    round stats
    startCheckpoint { id name } sftCheckpoint { id name } endCheckpoint { id name }
  }`;

/** Fewer fields for a list of many. */
const LIST_FIELDS = `id name phase status pauseReason currentRound rounds createdAt updatedAt
  baseCheckpoint { id name } policy { id name version } currentRun { id stage status progress }`;

async function fetchCurriculum(api: ApiClient, id: string): Promise<CurriculumView> {
  const { node } = await api.graphql<{ node: (CurriculumView & { __typename: string }) | null }>(
    `query($id: ID!) { node(id: $id) { __typename ... on Curriculum { ${CURRICULUM_FIELDS} } } }`,
    { id },
  );
  if (!node || node.__typename !== 'Curriculum') {
    throw new ApiError(
      `${id} is a ${node?.__typename ?? 'unknown'} id, not a curriculum's`,
      'NOT_FOUND',
    );
  }
  return node;
}

function curriculumId(positionals: string[], sub: string): string {
  return oneId(positionals, `curricula ${sub}`, 'curriculum', CURRICULA_USAGE);
}

const pct = (v: unknown) => (typeof v === 'number' ? `${(v * 100).toFixed(1)}%` : '-');
const num = (v: unknown) => (typeof v === 'number' ? formatNumber(v) : '-');

function roundLabel(c: Pick<CurriculumView, 'currentRound' | 'rounds'>): string {
  return c.currentRound ? `round ${c.currentRound}/${c.rounds}` : `round -/${c.rounds}`;
}

function stepOf(run: Pick<RunView, 'progress'>): string {
  const p = run.progress;
  return p?.totalSteps ? `step ${p.step ?? 0}/${p.totalSteps}` : '';
}

function runLine(run: RunView | null): string {
  if (!run) return 'none';
  return [`${run.stage} run ${run.id}`, run.status, stepOf(run)].filter(Boolean).join(' ');
}

/** Traces the round's bridge wrote (select, hint) or kept (rewrite). */
function bridgeWritten(b: Record<string, unknown> | undefined): unknown {
  if (!b) return undefined;
  return b.written ?? b.verified ?? b.rewritten;
}

function critiqueYield(c: RoundStats['critiques']): string {
  if (!c) return '-';
  return `${num(c.verified ?? 0)}/${num(c.harvested ?? 0)}`;
}

// ---------------------------------------------------------------------------------------------
// create, list, status, advance / resume / cancel

async function create(api: ApiClient, argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      name: { type: 'string' },
      dataset: { type: 'string', multiple: true },
      'eval-dataset': { type: 'string', multiple: true },
      base: { type: 'string' },
      policy: { type: 'string' },
      rounds: { type: 'string' },
      'stage-configs': { type: 'string' },
      launcher: { type: 'string', default: 'local' },
      'no-auto-advance': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    CURRICULA_USAGE,
  );
  noPositionals(positionals, CURRICULA_USAGE);
  const datasets = listOption(values.dataset);
  const evalDatasets = listOption(values['eval-dataset']);
  requireOptions(
    { name: values.name, dataset: datasets.length, base: values.base, policy: values.policy },
    CURRICULA_USAGE,
  );
  const launcher = launcherOption(values.launcher);
  const rounds = intOption(values.rounds, 'rounds', 1);
  const stageConfigs = jsonObjectOption(values['stage-configs'], 'stage-configs');
  for (const [stage, config] of Object.entries(stageConfigs ?? {})) {
    if (!config || typeof config !== 'object' || Array.isArray(config)) {
      throw new UsageError(
        `--stage-configs: ${stage} must be an object, e.g. {"SFT": {"steps": 150}}`,
      );
    }
  }
  const [datasetIds, evalDatasetIds] = [
    await resolveDatasetIds(api, datasets),
    await resolveDatasetIds(api, evalDatasets),
  ];
  const { createCurriculum: c } = await api.graphql<{ createCurriculum: CurriculumView }>(
    `mutation($input: CreateCurriculumInput!) {
      createCurriculum(input: $input) { ${LIST_FIELDS} autoAdvance launcher }
    }`,
    {
      input: {
        name: values.name,
        datasetIds,
        evalDatasetIds,
        baseCheckpointId: values.base,
        policyId: values.policy,
        ...(rounds !== undefined ? { rounds } : {}),
        launcher,
        stageConfigs: stageConfigs ?? null,
        autoAdvance: !values['no-auto-advance'],
      },
    },
  );
  if (values.json) return printJson(c);
  console.error(
    `Created curriculum ${c.name}: ${c.rounds} round${c.rounds === 1 ? '' : 's'} from ` +
      `${c.baseCheckpoint.name} with policy ${c.policy.name} v${c.policy.version}, launcher ` +
      `${c.launcher.toLowerCase()}; ${c.status} ${c.phase}` +
      (c.autoAdvance ? '' : ` (no auto-advance: stagewise curricula advance ${c.id})`),
  );
  console.log(c.id);
  return EXIT.OK;
}

async function list(api: ApiClient, argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { status: { type: 'string' }, json: { type: 'boolean', default: false } },
    CURRICULA_USAGE,
  );
  noPositionals(positionals, CURRICULA_USAGE);
  const status = choiceOption(values.status, 'status', STATUSES);
  const curricula = await fetchAllPages<CurriculumView>(
    api,
    'curricula',
    `query($status: CurriculumStatus, $after: String) {
      curricula(first: 100, status: $status, after: $after) {
        nodes { ${LIST_FIELDS} } pageInfo { hasNextPage endCursor }
      }
    }`,
    { status: status ?? null },
  );
  return printList(curricula, {
    json: values.json,
    empty: 'No curricula.',
    headers: ['ID', 'NAME', 'STATUS', 'ROUND', 'PHASE', 'CURRENT RUN', 'BASE', 'POLICY', 'UPDATED'],
    row: (c) => [
      c.id,
      c.name,
      c.status,
      `${c.currentRound}/${c.rounds}`,
      c.phase,
      c.currentRun ? runLine(c.currentRun) : '-',
      c.baseCheckpoint.name,
      `${c.policy.name} v${c.policy.version}`,
      dateTime(c.updatedAt),
    ],
  });
}

/** The per-round table and the curriculum's state, as `curricula status` prints them. */
export function renderStatus(c: CurriculumView): string {
  const out: string[] = [];
  out.push(
    `Curriculum ${c.name} (${c.id}): ${c.status}, ${roundLabel(c)}, phase ${c.phase}` +
      (c.status === 'PAUSED' && c.pauseReason ? `\n  paused: ${c.pauseReason}` : ''),
  );
  out.push(
    `  base ${c.baseCheckpoint.name}; policy ${c.policy.name} v${c.policy.version} ` +
      `(bridge ${c.policy.bridgeStrategy}); trains on ${c.datasets.map((d) => d.name).join(', ')}` +
      `; evaluates on ${c.evalDatasets.map((d) => d.name).join(', ') || 'nothing'}; launcher ` +
      `${c.launcher.toLowerCase()}${c.autoAdvance ? '' : '; no auto-advance'}`,
  );
  out.push(`  current run: ${runLine(c.currentRun)}`);
  if (!c.roundResults.length) {
    out.push('', 'No round has started yet.');
    return out.join('\n');
  }
  const rows = c.roundResults.map((r) => {
    const s = r.stats ?? {};
    const per = s.samplesPerStage ?? {};
    const stage = (name: string) => (s.samplesPerStage ? num(per[name] ?? 0) : '-');
    const acc = s.evalAccuracy;
    const base = s.baseEvalAccuracy;
    const delta =
      typeof acc === 'number' && typeof base === 'number'
        ? `${acc >= base ? '+' : ''}${((acc - base) * 100).toFixed(1)}`
        : '-';
    return [
      String(r.round),
      `${r.startCheckpoint?.name ?? '?'} -> ${r.endCheckpoint?.name ?? '…'}`,
      stage('SFT'),
      stage('RL'),
      stage('REPLAY'),
      stage('DROPPED'),
      num(s.unrouted),
      num(s.moved),
      num(bridgeWritten(s.bridge)),
      critiqueYield(s.critiques),
      pct(acc),
      pct(base),
      delta,
    ];
  });
  out.push(
    '',
    table(
      [
        'ROUND',
        'CHECKPOINTS (start -> end)',
        'SFT',
        'RL',
        'REPLAY',
        'DROPPED',
        'UNROUTED',
        'MOVED',
        'BRIDGED',
        'CRITIQUES ok/harvested',
        'EVAL ACC',
        'BASE ACC',
        'DELTA',
      ],
      rows,
    ),
  );
  const moves = c.roundResults.filter((r) => r.stats?.moves && Object.keys(r.stats.moves).length);
  for (const r of moves) {
    const list = Object.entries(r.stats.moves!)
      .map(([k, n]) => `${k} ${formatNumber(n)}`)
      .join(', ');
    out.push(`  round ${r.round} moves: ${list}`);
  }
  return out.join('\n');
}

async function status(api: ApiClient, argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { json: { type: 'boolean', default: false } },
    CURRICULA_USAGE,
  );
  const c = await fetchCurriculum(api, curriculumId(positionals, 'status'));
  console.log(values.json ? JSON.stringify(c) : renderStatus(c));
  return EXIT.OK;
}

async function mutate(
  api: ApiClient,
  argv: string[],
  sub: 'advance' | 'resume' | 'cancel',
): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { json: { type: 'boolean', default: false } },
    CURRICULA_USAGE,
  );
  const id = curriculumId(positionals, sub);
  const field = `${sub}Curriculum`;
  const data = await api.graphql<Record<string, CurriculumView>>(
    `mutation($id: ID!) { ${field}(id: $id) { ${LIST_FIELDS} } }`,
    { id },
  );
  const c = data[field];
  if (values.json) return printJson(c);
  console.log(
    `Curriculum ${c.name}: ${c.status}, ${roundLabel(c)}, phase ${c.phase}; current run ${runLine(c.currentRun)}` +
      (c.status === 'PAUSED' && c.pauseReason ? `\n  paused: ${c.pauseReason}` : ''),
  );
  return EXIT.OK;
}

// ---------------------------------------------------------------------------------------------
// watch

export function exitCodeForCurriculum(status: string): number {
  if (status === 'SUCCEEDED') return EXIT.OK;
  if (status === 'CANCELLED') return EXIT.CANCELLED;
  return EXIT.FAILED; // PAUSED
}

const CURRICULUM_UPDATED = `subscription($id: ID!) {
  curriculumUpdated(curriculumId: $id) { ${CURRICULUM_FIELDS} }
}`;

const RUN_UPDATED = `subscription($id: ID!) {
  runUpdated(filter: { curriculumId: $id }) { ${RUN_FIELDS} }
}`;

const PREFERRED_METRICS = [
  'train/loss',
  'train/reward_mean',
  'probe/pass_at_1',
  'eval/accuracy',
  'train/tokens_per_s',
];

function metricSummary(metrics: Record<string, unknown> | null, max = 2): string {
  const m = metrics ?? {};
  return PREFERRED_METRICS.filter((k) => typeof m[k] === 'number')
    .slice(0, max)
    .map((k) => `${k}=${formatNumber(m[k])}`)
    .join(' ');
}

/** Lines, and on a terminal one live line under them that each new line clears and redraws. */
class Output {
  private live = '';

  constructor(private readonly tty: boolean) {}

  line(text: string): void {
    if (this.tty && this.live) process.stdout.write('\r\x1b[K');
    process.stdout.write(text + '\n');
    if (this.tty && this.live) process.stdout.write(this.live);
  }

  /** A progress line: redrawn in place on a terminal; printed as a line otherwise. */
  status(text: string): void {
    if (!this.tty) {
      this.line(text);
      return;
    }
    this.live = text.slice(0, (process.stdout.columns || 120) - 1);
    process.stdout.write('\r\x1b[K' + this.live);
  }

  clearStatus(): void {
    if (this.tty && this.live) process.stdout.write('\r\x1b[K');
    this.live = '';
  }
}

export interface CurriculumWatchOptions {
  quiet?: boolean;
  plain?: boolean;
  reconnectTimeoutSeconds?: number;
}

/** Follows one curriculum to SUCCEEDED, PAUSED or CANCELLED; `watch()` resolves to the exit code. */
export class CurriculumWatcher {
  private last: CurriculumView | undefined;
  /** Facts of rounds already printed, e.g. "1:routed". */
  private readonly printed = new Set<string>();
  private readonly runs = new Map<string, { status: string; step: number; printedAt: number }>();
  private readonly out: Output;
  private readonly reconnectMs: number;
  private readonly progressEveryMs: number;
  private onTerminal: (() => void) | undefined;
  /** Events from either subscription, so far: a drop after some restarts the back-off. */
  private eventsReceived = 0;

  constructor(
    private readonly api: ApiClient,
    private readonly id: string,
    private readonly options: CurriculumWatchOptions = {},
  ) {
    const tty = Boolean(process.stdout.isTTY) && !options.plain;
    this.out = new Output(tty);
    this.progressEveryMs = tty ? 0 : 10_000;
    this.reconnectMs = (options.reconnectTimeoutSeconds ?? 120) * 1000;
  }

  async watch(): Promise<number> {
    const c = await fetchCurriculum(this.api, this.id);
    this.out.line(
      `Watching curriculum ${c.name} (${c.id}): ${c.status}, ${roundLabel(c)}, phase ${c.phase}` +
        `; ${c.rounds} round${c.rounds === 1 ? '' : 's'} from ${c.baseCheckpoint.name}` +
        (c.currentRun ? `; current run: ${runLine(c.currentRun)}` : ''),
    );
    if (!c.autoAdvance && c.status === 'ACTIVE') {
      this.out.line(`  (no auto-advance: it moves only on "stagewise curricula advance ${c.id}")`);
    }
    const started = Date.now();
    this.update(c);
    const stopExitOnCtrlC = exitOnCtrlC(
      `curriculum ${this.id}`,
      `stagewise curricula cancel ${this.id}`,
      () => this.out.clearStatus(),
    );
    try {
      if (!this.isTerminal()) await this.follow();
      const final = this.last!;
      this.out.clearStatus();
      const took = formatDuration((Date.now() - started) / 1000);
      if (final.status === 'PAUSED') {
        this.out.line(
          `Curriculum ${final.name} PAUSED in ${roundLabel(final)}, phase ${final.phase}`,
        );
        this.out.line(`  reason: ${final.pauseReason ?? '(none given)'}`);
        this.out.line(`  fix it, then: stagewise curricula resume ${final.id}`);
      } else {
        this.out.line(
          `Curriculum ${final.name} ${final.status} (${roundLabel(final)}, phase ${final.phase}; watched ${took})`,
        );
      }
      return exitCodeForCurriculum(final.status);
    } finally {
      stopExitOnCtrlC();
      this.out.clearStatus();
      await this.api.close();
    }
  }

  private isTerminal(): boolean {
    return this.last !== undefined && TERMINAL.has(this.last.status);
  }

  /** Prints what changed since the last view: status, round, phase, current run, round figures. */
  private update(c: CurriculumView): void {
    const prev = this.last;
    // A read that started before one already shown can arrive after it: keep the newer.
    if (prev && Date.parse(c.updatedAt) < Date.parse(prev.updatedAt)) return;
    this.last = c;
    const t = `[${clock()}]`;
    for (const r of c.roundResults) this.roundFacts(r, c.rounds);
    // The first view is the header's.
    const moved =
      prev !== undefined &&
      (prev.phase !== c.phase ||
        prev.currentRound !== c.currentRound ||
        prev.status !== c.status ||
        prev.currentRun?.id !== c.currentRun?.id);
    if (moved) {
      const run = c.currentRun ? `: ${runLine(c.currentRun)}` : '';
      const status = c.status === 'ACTIVE' ? '' : ` ${c.status}`;
      this.out.line(`${t} ${roundLabel(c)}  ${c.phase}${status}${run}`);
    }
    if (c.currentRun && !prev) {
      // The header named the run's status already.
      const { id, status } = c.currentRun;
      this.runs.set(id, { status, step: -1, printedAt: 0 });
    }
    if (c.currentRun) this.runUpdate(c.currentRun);
    if (this.isTerminal()) this.onTerminal?.();
  }

  /** Each figure of a round once, as it appears. */
  private roundFacts(r: RoundView, rounds: number): void {
    const s = r.stats ?? {};
    const once = (key: string, text: () => string, label = `round ${r.round}/${rounds} `) => {
      if (this.printed.has(`${r.round}:${key}`)) return;
      this.printed.add(`${r.round}:${key}`);
      this.out.line(`           ${label}${text()}`);
    };
    if (s.samplesPerStage) {
      once('routed', () => {
        const per = s.samplesPerStage!;
        const stages = ['SFT', 'RL', 'REPLAY', 'DROPPED']
          .map((k) => `${k} ${num(per[k] ?? 0)}`)
          .join(', ');
        return `routed: ${stages}; unrouted ${num(s.unrouted ?? 0)}; moved ${num(s.moved ?? 0)}`;
      });
    }
    if (s.bridge) {
      once('bridge', () => {
        const b = s.bridge!;
        return `bridge ${typeof b.strategy === 'string' ? b.strategy.toLowerCase() : ''}: ${num(bridgeWritten(b))} traces written`;
      });
    }
    if (r.sftCheckpoint) once('sft', () => `SFT checkpoint: ${r.sftCheckpoint!.name}`);
    if (r.endCheckpoint) once('end', () => `end checkpoint: ${r.endCheckpoint!.name}`);
    if (s.critiques) {
      once('critiques', () => {
        const q = s.critiques!;
        return `critiques: ${num(q.harvested ?? 0)} harvested, ${num(q.written ?? 0)} written, ${num(q.verified ?? 0)} verified`;
      });
    }
    if (s.baseEvalAccuracy !== undefined && r.round === 1) {
      once('base-eval', () => `base checkpoint eval: accuracy ${pct(s.baseEvalAccuracy)}`, '');
    }
    if (s.evalAccuracy !== undefined) {
      once('eval', () => `eval: accuracy ${pct(s.evalAccuracy)}`);
    }
  }

  /** A run of the curriculum changed: its status as a line, its progress as a live line. */
  private runUpdate(run: RunView): void {
    const seen = this.runs.get(run.id);
    const step = run.progress?.step ?? -1;
    if (!seen || seen.status !== run.status) {
      if (seen || run.status !== 'QUEUED') {
        this.out.clearStatus();
        const error = run.status === 'FAILED' && run.error ? `: ${run.error.split('\n')[0]}` : '';
        this.out.line(`[${clock()}]   ${run.stage} run ${run.id}: ${run.status}${error}`);
      }
      this.runs.set(run.id, { status: run.status, step, printedAt: 0 });
      if (run.status !== 'RUNNING') return;
    }
    const state = this.runs.get(run.id)!;
    if (this.options.quiet || run.status !== 'RUNNING' || !run.progress?.totalSteps) return;
    const now = Date.now();
    if (step === state.step && state.printedAt) return;
    if (now - state.printedAt < this.progressEveryMs && step < run.progress.totalSteps) return;
    state.step = step;
    state.printedAt = now;
    const { totalSteps, etaSeconds } = run.progress;
    const progress = stepProgress(
      Math.max(step, 0),
      totalSteps,
      etaSeconds,
      metricSummary(run.metrics),
    );
    this.out.status(`[${clock()}]   ${run.stage} ${progress}`);
  }

  /** Subscriptions, resubscribed after each drop; polling when the WebSocket keeps failing. */
  private follow(): Promise<void> {
    return followSubscription({
      api: this.api,
      reconnectMs: this.reconnectMs,
      notServed: /Subscription|curriculumUpdated/,
      subscription: 'curriculumUpdated',
      resumeNote: () => 'reconnecting',
      subscribeOnce: () => this.subscribeOnce(),
      received: () => this.eventsReceived,
      httpAnswers: () => this.refresh(),
      poll: () => this.poll(),
      ended: () => this.isTerminal(),
      line: (text) => this.out.line(text),
    });
  }

  /** Re-reads the curriculum over HTTP; false when the API cannot be reached. */
  private async refresh(): Promise<boolean> {
    try {
      this.update(await fetchCurriculum(this.api, this.id));
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.code === 'CONNECTION') return false;
      throw err;
    }
  }

  /** Resolves once the curriculum is terminal; rejects when a subscription fails. */
  private subscribeOnce(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const stops: (() => void)[] = [];
      let settled = false;
      const settle = (err?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(first);
        clearInterval(timer);
        this.onTerminal = undefined;
        for (const stop of stops) stop();
        if (err) reject(err instanceof Error ? err : new Error(JSON.stringify(err)));
        else resolve();
      };
      this.onTerminal = () => settle();
      const listen = <T>(query: string, next: (data: T) => void, complete: () => void) =>
        stops.push(
          this.api.subscribe<T>(
            query,
            { id: this.id },
            {
              next: (data) => {
                this.eventsReceived += 1;
                next(data);
              },
              error: (err) => settle(err),
              complete,
            },
          ),
        );
      listen<{ curriculumUpdated: CurriculumView }>(
        CURRICULUM_UPDATED,
        (data) => this.update(data.curriculumUpdated),
        () => settle(new ApiError('the curriculumUpdated stream ended', 'CONNECTION')),
      );
      listen<{ runUpdated: RunView }>(
        RUN_UPDATED,
        ({ runUpdated }) => {
          if (this.last?.currentRun?.id === runUpdated.id) this.runUpdate(runUpdated);
        },
        () => undefined,
      );
      // A change between the first read and the subscription's start is read here, and any
      // announcement lost later within 15 s.
      const check = () => {
        this.refresh().then(
          () => undefined,
          (err: unknown) => settle(err),
        );
      };
      const first = setTimeout(check, 1500);
      const timer = setInterval(check, 15_000);
    });
  }

  private async poll(): Promise<void> {
    let lostSince: number | undefined;
    while (!this.isTerminal()) {
      await sleep(3000);
      if (await this.refresh()) {
        lostSince = undefined;
        continue;
      }
      lostSince ??= Date.now();
      if (Date.now() - lostSince > this.reconnectMs) {
        throw new ApiError(
          `cannot reach the API; gave up after ${Math.round(this.reconnectMs / 1000)}s`,
          'CONNECTION',
        );
      }
    }
  }
}

async function watch(api: ApiClient, argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      quiet: { type: 'boolean', default: false },
      plain: { type: 'boolean', default: false },
      'reconnect-timeout': { type: 'string' },
    },
    CURRICULA_USAGE,
  );
  return new CurriculumWatcher(api, curriculumId(positionals, 'watch'), {
    quiet: values.quiet,
    plain: values.plain,
    reconnectTimeoutSeconds: intOption(values['reconnect-timeout'], 'reconnect-timeout', 1),
  }).watch();
}

const mutation =
  (sub: 'advance' | 'resume' | 'cancel'): Subcommand =>
  (api, argv) =>
    mutate(api, argv, sub);

export async function curriculaCommand(api: ApiClient, argv: string[]): Promise<number> {
  return runSubcommand(
    api,
    argv,
    {
      create,
      list,
      status,
      watch,
      advance: mutation('advance'),
      resume: mutation('resume'),
      cancel: mutation('cancel'),
    },
    CURRICULA_USAGE,
  );
}
