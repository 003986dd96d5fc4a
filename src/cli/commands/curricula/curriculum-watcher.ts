/**
 * Follows one curriculum to SUCCEEDED, PAUSED or CANCELLED: each phase change as a line, its
 * rounds' figures once each, its runs' status changes and (but with --quiet) their progress as a
 * live line, then the outcome as the exit code.
 *
 * It listens on curriculumUpdated and, for the progress of its runs, runUpdated filtered on the
 * curriculum; it re-reads the curriculum over HTTP after subscribing and every 15 s, so an update
 * missed while (re)connecting is never waited on for long. Reconnecting and polling are the shared
 * follower's (src/cli/follow).
 */
import type { ApiClient } from '../../api-client';
import { clock, formatDuration } from '../output';
import { exitOnCtrlC } from '../../follow/ctrl-c';
import { PlainLines, redrawsProgress, type WatchDisplay } from '../../follow/display';
import { exitCodeForOutcome } from '../../follow/exit-codes';
import { LiveLine } from '../../follow/live-line';
import { metricSummary } from '../../follow/metric-summary';
import { ProgressThrottle } from '../../follow/progress-throttle';
import { followRow } from '../../follow/follow-row';
import {
  CURRICULUM_FIELDS,
  RUN_FIELDS,
  TERMINAL,
  fetchCurriculum,
  type CurriculumView,
  type RunView,
} from './curriculum';
import { RoundFacts } from './round-facts';
import { roundLabel, runLine } from './text';

const CURRICULUM_UPDATED = `subscription($id: ID!) {
  curriculumUpdated(curriculumId: $id) { ${CURRICULUM_FIELDS} }
}`;

const RUN_UPDATED = `subscription($id: ID!) {
  runUpdated(filter: { curriculumId: $id }) { ${RUN_FIELDS} }
}`;

export interface CurriculumWatchOptions {
  quiet?: boolean;
  plain?: boolean;
  reconnectTimeoutSeconds?: number;
}

/** `watch()` resolves to the exit code. */
export class CurriculumWatcher {
  private last: CurriculumView | undefined;
  private readonly roundFacts: RoundFacts;
  /** The runs seen: their status, and when their progress is worth a line again. */
  private readonly runs = new Map<string, { status: string; throttle: ProgressThrottle }>();
  private readonly out: WatchDisplay;
  private readonly reconnectMs: number;
  private readonly progressEveryMs: number;
  private onTerminal: (() => void) | undefined;

  constructor(
    private readonly api: ApiClient,
    private readonly id: string,
    private readonly options: CurriculumWatchOptions = {},
  ) {
    const redraws = redrawsProgress(options.plain);
    this.out = redraws ? new LiveLine() : new PlainLines();
    // In a pipe: a run's progress at most every 10 s, and its last step.
    this.progressEveryMs = redraws ? 0 : 10_000;
    this.reconnectMs = (options.reconnectTimeoutSeconds ?? 120) * 1000;
    this.roundFacts = new RoundFacts((text) => this.out.line(text));
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
      () => this.out.stop(),
    );
    try {
      if (!this.isTerminal()) await this.follow();
      const final = this.last!;
      this.out.stop();
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
      return exitCodeForOutcome(final.status);
    } finally {
      stopExitOnCtrlC();
      this.out.stop();
      await this.api.close();
    }
  }

  private isTerminal(): boolean {
    return this.last !== undefined && TERMINAL.has(this.last.status);
  }

  private trackRun(id: string, status: string): void {
    this.runs.set(id, { status, throttle: new ProgressThrottle(this.progressEveryMs) });
  }

  /** Prints what changed since the last view: status, round, phase, current run, round figures. */
  private update(c: CurriculumView): void {
    const prev = this.last;
    // A read that started before one already shown can arrive after it: keep the newer.
    if (prev && Date.parse(c.updatedAt) < Date.parse(prev.updatedAt)) return;
    this.last = c;
    const t = `[${clock()}]`;
    for (const r of c.roundResults) this.roundFacts.print(r, c.rounds);
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
    // The header named the first run's status already.
    if (c.currentRun && !prev) this.trackRun(c.currentRun.id, c.currentRun.status);
    if (c.currentRun) this.runUpdate(c.currentRun);
    if (this.isTerminal()) this.onTerminal?.();
  }

  /** A run of the curriculum changed: its status as a line, its progress as a live line. */
  private runUpdate(run: RunView): void {
    const seen = this.runs.get(run.id);
    if (!seen || seen.status !== run.status) {
      if (seen || run.status !== 'QUEUED') {
        this.out.stop();
        const error = run.status === 'FAILED' && run.error ? `: ${run.error.split('\n')[0]}` : '';
        this.out.line(`[${clock()}]   ${run.stage} run ${run.id}: ${run.status}${error}`);
      }
      this.trackRun(run.id, run.status);
      if (run.status !== 'RUNNING') return;
    }
    if (this.options.quiet || run.status !== 'RUNNING' || !run.progress?.totalSteps) return;
    const { totalSteps, etaSeconds } = run.progress;
    const step = run.progress.step ?? -1;
    if (!this.runs.get(run.id)!.throttle.due(step, totalSteps)) return;
    this.out.progress({
      step: Math.max(step, 0),
      total: totalSteps,
      etaSeconds,
      metrics: metricSummary(run.metrics, 2, { preferredOnly: true }),
      label: `  ${run.stage} `,
    });
  }

  /** Subscriptions, resubscribed after each drop; polling when the WebSocket keeps failing. */
  private follow(): Promise<void> {
    return followRow({
      api: this.api,
      subscription: 'curriculumUpdated',
      variables: { id: this.id },
      streams: [
        {
          query: CURRICULUM_UPDATED,
          next: (data: { curriculumUpdated: CurriculumView }) =>
            this.update(data.curriculumUpdated),
          required: 'curriculumUpdated',
        },
        {
          query: RUN_UPDATED,
          next: ({ runUpdated }: { runUpdated: RunView }) => {
            if (this.last?.currentRun?.id === runUpdated.id) this.runUpdate(runUpdated);
          },
        },
      ],
      reconnectMs: this.reconnectMs,
      fetch: () => fetchCurriculum(this.api, this.id),
      update: (c) => this.update(c),
      ended: () => this.isTerminal(),
      onEnded: (end) => (this.onTerminal = end),
      line: (text) => this.out.line(text),
    });
  }
}
