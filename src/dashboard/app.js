// The dashboard: runs (live through runUpdated), the selected run's curves (runEvents: the
// stored events, then live ones), a curriculum's rounds (curriculumUpdated), an experiment's
// accuracy per arm with intervals (experimentUpdated) and a checkpoint's pass-rate histogram. Queries go to POST /graphql, subscriptions to /graphql/stream; both
// carry the API key, which lives in sessionStorage (or arrives once in the URL's #key=).
import { Refusal, errorMessage, subscribe } from './sse.js';
import { barChart, intervalChart, metricChart, stackedBarChart } from './charts.js';

const KEY_ITEM = 'stagewise.apiKey';
const RUN_LIST_LIMIT = 2000; // runs read at start (500 a page); the newest 100 are shown
const SHOWN_RUNS = 100;
const STAGES = ['SFT', 'RL', 'REPLAY', 'CRITIQUE', 'DROPPED'];

const $ = (id) => document.getElementById(id);

// --- state -----------------------------------------------------------------------------------

const state = {
  key: null,
  /** Aborts every request and subscription of the current key. */
  session: null,
  runs: new Map(),
  selectedRun: null,
  /** Set once the user picks a run; until then the newest run is followed. */
  pinned: false,
  /** Aborts the selected run's event stream. */
  runStream: null,
  /** metric name -> [step, value][] of the selected run. */
  points: new Map(),
  curriculumStream: null,
  experimentStream: null,
};

/** What tests and curious users can read: points per metric of the selected run. */
window.dashboard = { state, points: {} };

// --- API -------------------------------------------------------------------------------------

async function gql(query, variables = {}) {
  const res = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${state.key}` },
    body: JSON.stringify({ query, variables }),
    signal: state.session?.signal,
  });
  if (res.status === 401 || res.status === 403)
    throw new Refusal(res.status, await errorMessage(res));
  const body = await res.json();
  if (body.errors?.length) throw new Error(body.errors.map((e) => e.message).join('; '));
  return body.data;
}

function live(query, variables, onNext, onState = setLive) {
  return subscribe({
    key: state.key,
    query,
    variables,
    signal: state.session.signal,
    onNext,
    onState,
  });
}

// --- page chrome -----------------------------------------------------------------------------

function showError(message) {
  const el = $('error');
  el.textContent = message;
  el.hidden = !message;
}

function reportFailure(err) {
  if (err?.name === 'AbortError') return;
  if (err instanceof Refusal && (err.status === 401 || err.status === 403)) {
    showError(`API key refused: ${err.message}. Enter a valid key above.`);
    setLive('refused');
    stopSession();
  } else {
    showError(String(err?.message ?? err));
  }
}

function setLive(s) {
  if (s instanceof Error) return reportFailure(s);
  if (s === 'done') return;
  const el = $('live');
  el.textContent = s;
  el.className = `badge ${s}`;
}

const fmt = (v, digits = 3) =>
  typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(digits)) : '-';
const pct = (v) => (typeof v === 'number' ? `${(v * 100).toFixed(1)}%` : '-');

/**
 * A run's name, the same everywhere: its global id (e.g. UnVuOjE), as `stagewise runs list`
 * prints it, as `runs watch ID` takes it and as checkpoint names carry it (sft-UnVuOjE-step-40).
 * Runs have no name of their own; decoding the id ("Run 1") would give a second name for the same
 * run that no command accepts.
 */
function runName(run) {
  return run.id;
}

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function badge(text) {
  const span = document.createElement('span');
  span.className = `badge ${text}`;
  span.textContent = text;
  return span;
}

// --- runs ------------------------------------------------------------------------------------

const RUN_FIELDS = `id stage status attempt round progress metrics error createdAt startedAt
  finishedAt curriculum { name } outputCheckpoint { name }`;

async function loadRuns() {
  let after = null;
  for (;;) {
    const data = await gql(
      `query($after: String) { runs(first: 500, after: $after) {
        nodes { ${RUN_FIELDS} } pageInfo { hasNextPage endCursor } } }`,
      { after },
    );
    for (const run of data.runs.nodes) state.runs.set(run.id, run);
    after = data.runs.pageInfo.endCursor;
    if (!data.runs.pageInfo.hasNextPage || state.runs.size >= RUN_LIST_LIMIT) break;
  }
  renderRuns();
  const newest = newestRuns()[0];
  if (newest) selectRun(newest.id, false);
}

function newestRuns() {
  return [...state.runs.values()]
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
    .slice(0, SHOWN_RUNS);
}

function renderRuns() {
  const body = $('run-rows');
  body.replaceChildren(
    ...newestRuns().map((run) => {
      const tr = document.createElement('tr');
      tr.dataset.runId = run.id;
      tr.dataset.status = run.status;
      if (run.id === state.selectedRun) tr.className = 'selected';
      const m = run.metrics ?? {};
      const step = run.progress
        ? `${run.progress.step ?? 0}/${run.progress.totalSteps ?? '?'}`
        : '-';
      const status = cell('');
      status.append(badge(run.status));
      tr.append(
        cell(runName(run), 'run-name'),
        cell(run.curriculum ? `${run.stage} (${run.curriculum.name} r${run.round})` : run.stage),
        status,
        cell(step),
        cell(fmt(m['train/loss'])),
        cell(fmt(m['train/reward_mean'])),
        cell(pct(m['train/accuracy'] ?? m['eval/accuracy'] ?? m['probe/pass_at_1'])),
        cell(new Date(run.createdAt).toLocaleString()),
      );
      tr.addEventListener('click', () => selectRun(run.id, true));
      return tr;
    }),
  );
  $('no-runs').hidden = state.runs.size > 0;
  renderRunSummary();
}

function renderRunSummary() {
  const run = state.runs.get(state.selectedRun);
  if (!run) return;
  $('run-title').replaceChildren(`${runName(run)} · ${run.stage} `, badge(run.status));
  const parts = [];
  if (run.progress)
    parts.push(`step ${run.progress.step ?? 0} of ${run.progress.totalSteps ?? '?'}`);
  if (run.startedAt) parts.push(`started ${new Date(run.startedAt).toLocaleTimeString()}`);
  if (run.finishedAt) parts.push(`finished ${new Date(run.finishedAt).toLocaleTimeString()}`);
  if (run.outputCheckpoint) parts.push(`checkpoint ${run.outputCheckpoint.name}`);
  if (run.error) parts.push(`error: ${run.error}`);
  $('run-summary').textContent = parts.join(' · ');
}

function onRunUpdated(run) {
  const isNew = !state.runs.has(run.id);
  state.runs.set(run.id, run);
  renderRuns();
  // Follow the newest run until the user picks one.
  if (isNew && !state.pinned) selectRun(run.id, false);
  if (run.stage === 'PROBE' && run.status === 'SUCCEEDED') loadHistogram().catch(reportFailure);
}

// --- the selected run's curves ---------------------------------------------------------------

const charts = {};

function makeRunCharts() {
  charts.loss = metricChart($('chart-loss'), {
    title: 'Loss',
    metrics: ['train/loss'],
    yLabel: 'loss',
  });
  charts.reward = metricChart($('chart-reward'), {
    title: 'Reward',
    metrics: ['train/reward_mean'],
    yLabel: 'mean reward',
  });
  charts.accuracy = metricChart($('chart-accuracy'), {
    title: 'Accuracy',
    metrics: ['train/accuracy', 'eval/accuracy', 'probe/pass_at_1'],
    yLabel: 'accuracy',
  });
}

let redrawQueued = false;
function redrawRunCharts() {
  if (redrawQueued) return;
  redrawQueued = true;
  requestAnimationFrame(() => {
    redrawQueued = false;
    let drawn = 0;
    for (const chart of Object.values(charts)) drawn += chart.set(state.points);
    $('no-metrics').hidden = drawn > 0 || !state.selectedRun;
    window.dashboard.points = Object.fromEntries(
      [...state.points].map(([name, pts]) => [name, pts.length]),
    );
  });
}

function selectRun(id, pinned) {
  if (pinned) state.pinned = true;
  if (id === state.selectedRun) return;
  state.runStream?.abort();
  state.selectedRun = id;
  state.points = new Map();
  redrawRunCharts();
  renderRuns();
  const stream = new AbortController();
  state.runStream = stream;
  state.session.signal.addEventListener('abort', () => stream.abort(), { once: true });
  let lastSeq = 0;
  subscribe({
    key: state.key,
    query: `subscription($runId: ID!, $afterSeq: Int!) {
      runEvents(runId: $runId, afterSeq: $afterSeq) { seq type payload }
    }`,
    // After a dropped connection, resume after the last event seen.
    variables: () => ({ runId: id, afterSeq: lastSeq }),
    signal: stream.signal,
    onNext: ({ runEvents: event }) => {
      lastSeq = event.seq;
      if (event.type !== 'METRIC') return;
      const step = typeof event.payload.step === 'number' ? event.payload.step : event.seq;
      for (const [name, value] of Object.entries(event.payload)) {
        if (name === 'step' || typeof value !== 'number') continue;
        if (!state.points.has(name)) state.points.set(name, []);
        state.points.get(name).push([step, value]);
      }
      redrawRunCharts();
    },
    onState: (s) => (s instanceof Error ? reportFailure(s) : undefined),
  }).catch(reportFailure);
}

// --- curricula -------------------------------------------------------------------------------

const CURRICULUM_FIELDS = `id name status phase currentRound rounds pauseReason
  currentRun { id stage status }
  roundResults { round stats startCheckpoint { name } endCheckpoint { name } }`;

let stagesChart;

async function loadCurricula() {
  const data = await gql(`{ curricula(first: 500) { nodes { id name status } } }`);
  await fillSelect(
    $('curriculum-select'),
    data.curricula.nodes,
    'choose a curriculum',
    'curriculum',
    showCurriculum,
  );
}

async function showCurriculum(id) {
  state.curriculumStream?.abort();
  if (!id) return renderCurriculum(null);
  const data = await gql(
    `query($id: ID!) { node(id: $id) { ... on Curriculum { ${CURRICULUM_FIELDS} } } }`,
    {
      id,
    },
  );
  renderCurriculum(data.node);
  state.curriculumStream = follow(
    `subscription($id: ID!) { curriculumUpdated(curriculumId: $id) { ${CURRICULUM_FIELDS} } }`,
    { id },
    ({ curriculumUpdated }) => renderCurriculum(curriculumUpdated),
  );
}

/** One row followed over SSE until the returned controller (or the session) aborts. */
function follow(query, variables, onNext) {
  const stream = new AbortController();
  state.session.signal.addEventListener('abort', () => stream.abort(), { once: true });
  subscribe({
    key: state.key,
    query,
    variables: () => variables,
    signal: stream.signal,
    onNext,
    onState: (s) => (s instanceof Error ? reportFailure(s) : undefined),
  }).catch(reportFailure);
  return stream;
}

function renderCurriculum(c) {
  const rows = $('round-rows');
  if (!c) {
    $('curriculum-summary').textContent = 'No curriculum selected.';
    rows.replaceChildren();
    stagesChart.set(
      [],
      STAGES.map(() => []),
    );
    return;
  }
  const parts = [
    `${c.name}: ${c.status}`,
    `round ${c.currentRound || '-'}/${c.rounds}`,
    `phase ${c.phase}`,
  ];
  if (c.currentRun)
    parts.push(
      `waiting for ${c.currentRun.stage} run ${runName(c.currentRun)} (${c.currentRun.status})`,
    );
  if (c.pauseReason) parts.push(`paused: ${c.pauseReason}`);
  $('curriculum-summary').textContent = parts.join(' · ');
  const rounds = [...c.roundResults].sort((a, b) => a.round - b.round);
  const perStage = (r, stage) => r.stats?.samplesPerStage?.[stage] ?? null;
  stagesChart.set(
    rounds.map((r) => r.round),
    STAGES.map((stage) => rounds.map((r) => perStage(r, stage))),
  );
  rows.replaceChildren(
    ...rounds.map((r) => {
      const s = r.stats ?? {};
      const tr = document.createElement('tr');
      const moves = Object.entries(s.moves ?? {})
        .map(([move, n]) => `${move} ${n}`)
        .join(', ');
      tr.append(
        cell(String(r.round)),
        cell(`${r.startCheckpoint.name} → ${r.endCheckpoint?.name ?? '…'}`, 'wrap'),
        ...STAGES.map((stage) => cell(fmt(perStage(r, stage)))),
        cell(fmt(s.unrouted)),
        cell(fmt(s.moved)),
        cell(moves || '-', 'wrap'),
        cell(pct(s.sftEvalAccuracy)),
        cell(pct(s.evalAccuracy)),
      );
      return tr;
    }),
  );
}

// --- experiments -----------------------------------------------------------------------------

const EXPERIMENT_FIELDS = `id name status seeds computeBudget pauseReason
  arms { arm seedsDone meanAccuracy ciLow ciHigh computeUsed pValueVsStagewise }`;

let armsChart;

/** Fills a select with `nodes` (newest first), choosing the one #<param>= names. */
function fillSelect(select, nodes, prompt, param, show) {
  const options = nodes.reverse().map((n) => new Option(`${n.name} (${n.status})`, n.id));
  select.replaceChildren(new Option(prompt, ''), ...options);
  const wanted = hashParams().get(param);
  if (!wanted || !options.some((o) => o.value === wanted)) return undefined;
  select.value = wanted;
  return show(wanted);
}

async function loadExperiments() {
  const select = $('experiment-select');
  const data = await gql(`{ experiments(first: 500) { nodes { id name status } } }`);
  const shown = fillSelect(
    select,
    data.experiments.nodes,
    'choose an experiment',
    'experiment',
    showExperiment,
  );
  // New experiments join the list as they are created, and each option shows its status.
  follow(
    `subscription { experimentUpdated { id name status } }`,
    {},
    ({ experimentUpdated: e }) => {
      const text = `${e.name} (${e.status})`;
      const option = [...select.options].find((o) => o.value === e.id);
      if (option) option.text = text;
      else select.insertBefore(new Option(text, e.id), select.options[1] ?? null);
    },
  );
  await shown;
}

async function showExperiment(id) {
  state.experimentStream?.abort();
  if (!id) return renderExperiment(null);
  const data = await gql(
    `query($id: ID!) { node(id: $id) { ... on Experiment { ${EXPERIMENT_FIELDS} } } }`,
    { id },
  );
  renderExperiment(data.node);
  state.experimentStream = follow(
    `subscription($id: ID!) { experimentUpdated(experimentId: $id) { ${EXPERIMENT_FIELDS} } }`,
    { id },
    ({ experimentUpdated }) => renderExperiment(experimentUpdated),
  );
}

function renderExperiment(e) {
  const rows = $('arm-rows');
  if (!e) {
    $('experiment-summary').textContent = 'No experiment selected.';
    rows.replaceChildren();
    armsChart.set([], [], [], []);
    return;
  }
  const parts = [`${e.name}: ${e.status}`, `${e.seeds} seeds`, `budget ${e.computeBudget} tokens`];
  if (e.pauseReason) parts.push(`paused: ${e.pauseReason}`);
  $('experiment-summary').textContent = parts.join(' · ');
  armsChart.set(
    e.arms.map((a) => a.arm),
    e.arms.map((a) => a.meanAccuracy),
    e.arms.map((a) => a.ciLow),
    e.arms.map((a) => a.ciHigh),
  );
  const interval = (a) =>
    a.ciLow == null || a.ciHigh == null ? '-' : `${pct(a.ciLow)}–${pct(a.ciHigh)}`;
  rows.replaceChildren(
    ...e.arms.map((a) => {
      const tr = document.createElement('tr');
      tr.dataset.arm = a.arm;
      tr.append(
        cell(a.arm),
        cell(`${a.seedsDone}/${e.seeds}`),
        cell(pct(a.meanAccuracy)),
        cell(interval(a)),
        cell(String(Math.round(a.computeUsed))),
        cell(a.pValueVsStagewise == null ? '-' : a.pValueVsStagewise.toPrecision(2)),
      );
      return tr;
    }),
  );
}

// --- pass-rate histogram ---------------------------------------------------------------------

const BINS = 10;
let histogramChart;

async function loadCheckpointsAndDatasets() {
  const data = await gql(`{
    checkpoints(first: 500) { nodes { id name } }
    datasets(first: 500) { nodes { id name } }
  }`);
  $('checkpoint-select').replaceChildren(
    new Option('choose a checkpoint', ''),
    ...data.checkpoints.nodes.reverse().map((c) => new Option(c.name, c.id)),
  );
  $('dataset-select').replaceChildren(
    new Option('all datasets', ''),
    ...data.datasets.nodes.map((d) => new Option(d.name, d.id)),
  );
  const wanted = hashParams().get('checkpoint');
  if (wanted && data.checkpoints.nodes.some((c) => c.id === wanted)) {
    $('checkpoint-select').value = wanted;
    await loadHistogram();
  }
}

async function loadHistogram() {
  const checkpointId = $('checkpoint-select').value;
  if (!checkpointId) {
    $('histogram-summary').textContent = 'No checkpoint selected.';
    histogramChart.set([], []);
    return;
  }
  const data = await gql(
    `query($checkpointId: ID!, $datasetId: ID, $bins: Int!) {
      passRateHistogram(checkpointId: $checkpointId, datasetId: $datasetId, bins: $bins) {
        probedSamples attempts meanRate never always bins { lo hi count }
      }
    }`,
    { checkpointId, datasetId: $('dataset-select').value || null, bins: BINS },
  );
  const h = data.passRateHistogram;
  $('histogram-summary').textContent =
    `${h.probedSamples} samples probed (${h.attempts} attempts) · mean pass rate ` +
    `${pct(h.meanRate)} · never solved ${h.never} · always solved ${h.always}`;
  histogramChart.set(
    h.bins.map((b) => (b.lo + b.hi) / 2),
    h.bins.map((b) => b.count),
  );
}

// --- the API key and the session -------------------------------------------------------------

function hashParams() {
  return new URLSearchParams(location.hash.slice(1));
}

/** Takes a key from #key= once (then drops it from the address bar), else sessionStorage. */
function readKey() {
  const params = hashParams();
  const given = params.get('key');
  if (given) {
    sessionStorage.setItem(KEY_ITEM, given);
    params.delete('key');
    const rest = params.toString();
    history.replaceState(null, '', location.pathname + (rest ? `#${rest}` : ''));
  }
  return sessionStorage.getItem(KEY_ITEM);
}

function stopSession() {
  state.session?.abort();
  state.session = null;
}

async function startSession(key) {
  stopSession();
  showError('');
  state.key = key;
  state.session = new AbortController();
  state.runs = new Map();
  state.selectedRun = null;
  state.pinned = false;
  const wantedRun = hashParams().get('run');
  try {
    await loadRuns();
    if (wantedRun) selectRun(wantedRun, true);
    live(
      `subscription { runUpdated { ${RUN_FIELDS} } }`,
      () => ({}),
      ({ runUpdated }) => onRunUpdated(runUpdated),
    ).catch(reportFailure);
    await Promise.all([loadCurricula(), loadExperiments(), loadCheckpointsAndDatasets()]);
  } catch (err) {
    reportFailure(err);
  }
}

function main() {
  makeRunCharts();
  stagesChart = stackedBarChart($('chart-stages'), {
    title: 'Samples per stage',
    layers: STAGES,
    xLabel: (r) => `round ${r}`,
    yLabel: 'samples',
  });
  armsChart = intervalChart($('chart-experiment'), {
    title: 'Held-out accuracy per arm (mean, 95% interval over seeds)',
    label: 'accuracy',
    yLabel: 'accuracy',
    format: (v) => `${(v * 100).toFixed(0)}%`,
  });
  histogramChart = barChart($('chart-histogram'), {
    title: 'Pass-rate histogram',
    label: 'samples',
    xRange: [0, 1],
    xAxis: 'pass rate',
    xLabel: (x) => `${(x - 0.5 / BINS).toFixed(1)}–${(x + 0.5 / BINS).toFixed(1)}`,
    yLabel: 'samples',
  });

  $('key-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const key = $('key').value.trim();
    if (!key) return;
    sessionStorage.setItem(KEY_ITEM, key);
    $('key').value = '';
    startSession(key).catch(reportFailure);
  });
  $('forget').addEventListener('click', () => {
    sessionStorage.removeItem(KEY_ITEM);
    stopSession();
    setLive('offline');
    showError('No API key: enter one above.');
  });
  $('curriculum-select').addEventListener('change', (e) => {
    showCurriculum(e.target.value).catch(reportFailure);
  });
  $('experiment-select').addEventListener('change', (e) => {
    showExperiment(e.target.value).catch(reportFailure);
  });
  for (const id of ['checkpoint-select', 'dataset-select']) {
    $(id).addEventListener('change', () => loadHistogram().catch(reportFailure));
  }

  const key = readKey();
  if (key) startSession(key).catch(reportFailure);
  else showError('No API key: enter one above (or open the page with #key=<your key>).');
}

main();
