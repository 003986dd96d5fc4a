/**
 * The suite's checks by name, each turning its measurements into one table row: what it held,
 * what it survived, how many hostile inputs it tried, what got lost, and whether promises held.
 */
import path from 'node:path';
import fs from 'node:fs';
import { createDatabase } from './api-process';
import { runFuzz } from './fuzz';
import { pgRestart, redisOutage, sigkillImport, type ApiPlace } from './faults';
import { fullDisk } from './full-disk';
import { runLoad } from './load';
import { secretsScan } from './secrets';
import type { CheckRow } from './report';
import { formatWindow } from './loop-delay';

/** Latency goal per operation under load (a goal, reported; not a verdict). */
const P99_GOAL_MS = 250;
/**
 * Memory is flat when, from the middle third of the run to the last, neither the API's RSS nor
 * its heap floor grows by more than this. The first third is left out: it is warm-up (JIT code,
 * 20 pooled connections, the young generation and malloc arenas sized to 200 clients), where
 * RSS rises steeply and then levels off; comparing against it failed a 60 s run that a 150 s
 * run shows flat. The heap floor (heap used, lowest per ~5 s, i.e. just after collections) is
 * what stays reachable, so a leak shows there even when RSS hides it.
 */
const MEMORY_GROWTH_ALLOWED = {
  rss: { fraction: 0.2, mb: 32 },
  heap: { fraction: 0.2, mb: 16 },
};

const grewBeyond = (fromMb: number, toMb: number, allowed: { fraction: number; mb: number }) =>
  toMb - fromMb > Math.max(allowed.mb, allowed.fraction * fromMb);

/** The suite's numeric settings, as `main.ts` parses them from the command line. */
export interface SuiteArgs {
  fuzz: number;
  clients: number;
  seconds: number;
  thinkMs: number;
  importLines: number;
  seed: number;
  /** Child processes the load check's query clients run in (0: in the check's own). */
  clientProcesses: number;
}

export interface SuiteContext {
  args: SuiteArgs;
  workDir: string;
  /** Admin URL of the suite's own PostgreSQL. */
  adminUrl: string;
  schemaFile: string;
  log: (line: string) => void;
  stopPostgres: () => Promise<void>;
  startPostgres: () => Promise<void>;
  /** Every secret a check handed out, for the secrets scan. */
  secrets?: string[];
}

/** A folder for one check's log and runs. */
function checkDir(ctx: SuiteContext, name: string): { logFile: string; runsDir: string } {
  const dir = path.join(ctx.workDir, name);
  fs.mkdirSync(path.join(dir, 'runs'), { recursive: true });
  return { logFile: path.join(dir, 'api.log'), runsDir: path.join(dir, 'runs') };
}

async function fuzzCheck(ctx: SuiteContext): Promise<CheckRow> {
  const db = await createDatabase(ctx.adminUrl);
  try {
    const r = await runFuzz({
      databaseUrl: db.url,
      ...checkDir(ctx, 'fuzz'),
      schemaFile: ctx.schemaFile,
      requests: ctx.args.fuzz,
      seed: ctx.args.seed,
    });
    const total = r.graphql + r.ndjson + r.runner;
    const byLabel = Object.entries(r.byLabel)
      .sort((a, b) => b[1] - a[1])
      .map(([label, n]) => `${label}: ${n}`);
    return {
      check: 'fuzz',
      load: `${r.graphql} GraphQL (${r.rootFields} root fields) + ${r.ndjson} NDJSON + ${r.runner} runner; /healthz x${r.healthChecks}`,
      faults: '-',
      badInputs: total,
      lostOrDuplicated: null,
      ok: r.problemCount === 0 && r.apiAlive,
      notes: [
        ...(r.cutUploads
          ? [`${r.cutUploads} uploads over 1 MiB refused before they were read (socket cut)`]
          : []),
        ...(r.problemCount
          ? [`${r.problemCount} broken answers; by request: ${byLabel.join(', ')}`]
          : []),
        ...r.problems.map((p) => `${p.what} -> ${p.detail}`),
      ],
    };
  } finally {
    await db.drop();
  }
}

/** A fresh database and folder for one check, dropped after it. */
async function withPlace<T>(
  ctx: SuiteContext,
  name: string,
  work: (place: ApiPlace) => Promise<T>,
): Promise<T> {
  const db = await createDatabase(ctx.adminUrl);
  try {
    return await work({ databaseUrl: db.url, ...checkDir(ctx, name) });
  } finally {
    await db.drop();
  }
}

async function pgRestartCheck(ctx: SuiteContext): Promise<CheckRow> {
  const r = await withPlace(ctx, 'pg-restart', (place) =>
    pgRestart(place, { stop: ctx.stopPostgres, start: ctx.startPostgres }, ctx.log),
  );
  const lost = r.storedLost + r.storedDuplicated + r.streamLost + r.streamDuplicated;
  const notes = [
    ...(r.readyz503 ? [] : ['/readyz never answered 503 while PostgreSQL was down']),
    ...(r.recovered ? [] : ['/readyz did not answer 200 within 60 s of PostgreSQL coming back']),
    ...(r.sameProcess ? [] : ['the API process exited']),
    ...(r.storedLost || r.storedDuplicated
      ? [
          `stored runner events: ${r.storedLost} lost, ${r.storedDuplicated} duplicated of ${r.emitted}`,
        ]
      : []),
    ...(r.streamLost || r.streamDuplicated
      ? [
          `subscriber streams: ${r.streamLost} lost, ${r.streamDuplicated} duplicated (3 subscribers)`,
        ]
      : []),
    ...r.streamErrors.map((e) => `stream error: ${e}`),
    `runner endpoint answered ${r.refusalsDuringOutage.join(', ') || 'nothing refused'} while PostgreSQL was down (events buffered)`,
  ];
  return {
    check: 'fault: PostgreSQL restart',
    load: `runner stand-in, ${r.emitted} events; 3 subscribers`,
    faults: r.readyz503 && r.recovered && r.sameProcess ? '1/1' : '0/1',
    badInputs: 0,
    lostOrDuplicated: lost,
    ok: r.readyz503 && r.recovered && r.sameProcess && lost === 0 && r.streamErrors.length === 0,
    notes,
  };
}

async function sigkillImportCheck(ctx: SuiteContext): Promise<CheckRow> {
  const r = await withPlace(ctx, 'sigkill-import', (place) =>
    sigkillImport(place, ctx.args.importLines, ctx.log),
  );
  return {
    check: 'fault: SIGKILL mid-import',
    load: `${r.linesPlanned.toLocaleString('en-US')}-line NDJSON import, killed after ${r.linesSentBeforeKill.toLocaleString('en-US')}`,
    faults: r.rowsAfter === 0 && r.restartedReady && r.laterImportOk ? '1/1' : '0/1',
    badInputs: 0,
    lostOrDuplicated: r.rowsAfter,
    ok: r.killedBy === 'SIGKILL' && r.rowsAfter === 0 && r.restartedReady && r.laterImportOk,
    notes: [
      ...(r.rowsAfter ? [`${r.rowsAfter} rows of the killed import were left in samples`] : []),
      ...(r.restartedReady ? [] : ['the restarted API was not ready']),
      ...(r.laterImportOk ? [] : ['an import after the restart failed']),
    ],
  };
}

async function redisCheck(ctx: SuiteContext): Promise<CheckRow> {
  const r = await withPlace(ctx, 'redis', (place) => redisOutage(place, ctx.log));
  const lost = r.storedLost + r.storedDuplicated + r.streamLost + r.streamDuplicated;
  const ok =
    r.skipped !== undefined || (r.apiSurvived && lost === 0 && r.streamErrors.length === 0);
  return {
    check: 'fault: Redis stopped',
    load: r.skipped ? '-' : `runner stand-in, ${r.emitted} events; 5 subscribers`,
    faults: r.skipped ? 'not covered' : ok ? '1/1' : '0/1',
    badInputs: 0,
    lostOrDuplicated: r.skipped ? null : lost,
    ok,
    notes: [
      ...(r.skipped ? [r.skipped] : []),
      ...(r.apiSurvived ? [] : ['the API process exited']),
      ...(r.storedLost || r.storedDuplicated
        ? [
            `stored runner events: ${r.storedLost} lost, ${r.storedDuplicated} duplicated of ${r.emitted}; the endpoint answered ${[...new Set(r.refusals)].join(', ')}`,
          ]
        : []),
      ...(r.streamLost || r.streamDuplicated
        ? [
            `subscriber streams: ${r.streamLost} lost, ${r.streamDuplicated} duplicated (5 subscribers)`,
          ]
        : []),
      ...r.streamErrors.map((e) => `stream error: ${e}`),
    ],
  };
}

async function loadCheck(ctx: SuiteContext): Promise<CheckRow> {
  const r = await withPlace(ctx, 'load', (place) =>
    runLoad(
      place,
      {
        clients: ctx.args.clients,
        seconds: ctx.args.seconds,
        thinkMs: ctx.args.thinkMs,
        seed: ctx.args.seed,
        clientProcesses: ctx.args.clientProcesses,
      },
      ctx.log,
    ),
  );
  const rssFlat = !grewBeyond(r.rssMiddleThirdMb, r.rssLastThirdMb, MEMORY_GROWTH_ALLOWED.rss);
  // Three readings after a full collection, or no evidence of flatness; two thirds in against
  // the end, as RSS's middle third against its last.
  const [, liveMiddle, liveEnd] = r.liveHeapMb;
  const heapFlat =
    r.liveHeapMb.length === 3 && !grewBeyond(liveMiddle, liveEnd, MEMORY_GROWTH_ALLOWED.heap);
  const lost = r.streamLost + r.streamDuplicated;
  const latency = Object.entries(r.latency).map(
    ([op, l]) =>
      `${op} n=${l.n} p50=${l.p50} ms p99=${l.p99} ms${l.p99 > P99_GOAL_MS ? ' (over the 250 ms goal)' : ''}`,
  );
  return {
    check: 'load',
    load: `${ctx.args.clients} clients x ${ctx.args.seconds} s (pauses ~${ctx.args.thinkMs} ms), ${r.requests.toLocaleString('en-US')} requests, ${r.errors} errors`,
    faults: '-',
    badInputs: 0,
    lostOrDuplicated: lost,
    ok: r.errors === 0 && rssFlat && heapFlat && lost === 0 && r.apiAlive,
    notes: [
      ...latency,
      `API process: ${r.apiLoop ? `${formatWindow(r.apiLoop)}; ${(r.apiLoop.cpuMs / Math.max(1, r.requests)).toFixed(1)} ms CPU per operation` : 'no loop figures (the probe did not answer)'}`,
      `load generator (this process${r.clientLoops.length ? ': subscribers, runner stand-in' : ', with the query clients'}): ${formatWindow(r.generatorLoop)}`,
      ...r.clientLoops.map(
        (w, n) => `query client process ${n + 1} of ${r.clientLoops.length}: ${formatWindow(w)}`,
      ),
      `API RSS ${r.rssFirstThirdMb} MB (first third, warm-up) -> ${r.rssMiddleThirdMb} MB (middle) -> ${r.rssLastThirdMb} MB (last)${rssFlat ? '' : ': growing'}`,
      `${r.subscribers} subscribers x ${r.eventsEmitted} events: ${r.streamLost} lost, ${r.streamDuplicated} duplicated`,
      `API heap after a full collection ${r.liveHeapMb.join(' -> ') || '-'} MB (a third, two thirds, end)${heapFlat ? '' : ': growing or unmeasured'}; heap floor between collections ${r.heapMiddleThirdMb} -> ${r.heapLastThirdMb} MB (middle -> last third, ${r.heapSamples} samples; not judged)`,
      ...r.errorExamples,
      ...(r.apiAlive ? [] : ['the API process exited']),
    ],
  };
}

async function secretsCheck(ctx: SuiteContext): Promise<CheckRow> {
  const r = await withPlace(ctx, 'secrets', (place) => secretsScan(place, ctx.log));
  return {
    check: 'secrets',
    load: `a ${r.runStatus} local run, ${r.webhookDeliveries} webhook deliveries; ${r.filesScanned} files scanned`,
    faults: '-',
    badInputs: 0,
    lostOrDuplicated: null,
    ok: r.found.length === 0 && r.runStatus === 'SUCCEEDED' && r.webhookDeliveries > 0,
    notes: [
      `${r.secretsKnown} secrets known, ${r.found.length} found in clear; ${r.privateTokenFiles} owner-only token files`,
      ...r.found,
      ...(r.runStatus === 'SUCCEEDED' ? [] : [`the run ended ${r.runStatus}`]),
      ...(r.webhookDeliveries ? [] : ['no webhook delivery arrived']),
    ],
  };
}

async function fullDiskCheck(ctx: SuiteContext): Promise<CheckRow> {
  const r = await withPlace(ctx, 'full-disk', (place) => fullDisk(place, ctx.log));
  const clear = /no space left|ENOSPC|disk/i.test(r.runError ?? '');
  const ok =
    r.skipped !== undefined ||
    (r.runStatus === 'FAILED' && clear && r.healthAfter === 200 && r.apiAlive);
  return {
    check: 'fault: full runs disk',
    load: r.skipped ? '-' : 'a local run on a full 8 MiB tmpfs',
    faults: r.skipped ? 'not covered' : ok ? '1/1' : '0/1',
    badInputs: 0,
    lostOrDuplicated: null,
    ok,
    notes: r.skipped
      ? [r.skipped]
      : [
          `the run ended ${r.runStatus}: ${r.runError ?? '(no reason)'}; /healthz ${r.healthAfter} after`,
        ],
  };
}

export const CHECKS = {
  fuzz: fuzzCheck,
  load: loadCheck,
  'pg-restart': pgRestartCheck,
  'sigkill-import': sigkillImportCheck,
  redis: redisCheck,
  'full-disk': fullDiskCheck,
  secrets: secretsCheck,
} satisfies Record<string, (ctx: SuiteContext) => Promise<CheckRow>>;

export type CheckName = keyof typeof CHECKS;
