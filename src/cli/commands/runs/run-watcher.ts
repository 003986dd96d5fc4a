/**
 * Follows one run to its end, from its runEvents: status lines, a live progress bar (or
 * progress lines in a pipe), checkpoints, logs with --logs, and a summary with the run's
 * outcome as the exit code. Reconnecting and polling are the shared follower's (src/cli/follow).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiClient } from '../../api-client';
import { clock } from '../output';
import { exitOnCtrlC } from '../../follow/ctrl-c';
import { PlainLines, redrawsProgress, type WatchDisplay } from '../../follow/display';
import { exitCodeForOutcome } from '../../follow/exit-codes';
import { metricSummary } from '../../follow/metric-summary';
import { pollToEnd, type PollResult } from '../../follow/poll';
import { ProgressBar } from '../../follow/progress-bar';
import { ProgressThrottle } from '../../follow/progress-throttle';
import { followSubscription } from '../../follow/reconnecting-subscription';
import { TERMINAL, durationOf, fetchRun, type RunEventData, type RunInfo } from './run';
import type { WatchOptions } from './watch-options';

const RUN_EVENTS = `subscription($runId: ID!, $afterSeq: Int) {
  runEvents(runId: $runId, afterSeq: $afterSeq) { seq type payload at }
}`;

/** One page of run.events, the most a poll reads at once. */
const EVENTS_PAGE = 500;

/** `watch()` resolves to the exit code. */
export class RunWatcher {
  private lastSeq = 0;
  private status = '';
  private step = 0;
  private totalSteps = 0;
  private etaSeconds: number | undefined;
  private readonly metrics: Record<string, unknown> = {};
  private readonly recentLogs: string[] = [];
  private readonly checkpoints = new Set<string>();
  private readonly display: WatchDisplay;
  private readonly reconnectMs: number;

  constructor(
    private readonly api: ApiClient,
    private readonly runId: string,
    private readonly options: WatchOptions = {},
  ) {
    // In a pipe: a progress line at most every 2 s, and the last.
    this.display = redrawsProgress(options.plain)
      ? new ProgressBar()
      : new PlainLines(new ProgressThrottle(2000));
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
      return exitCodeForOutcome(final.status);
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
    this.display.progress({
      step: this.step,
      total: this.totalSteps,
      etaSeconds: this.etaSeconds,
      metrics: metricSummary(this.metrics, 3),
    });
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
        run(id: $id) { eventsComplete events(afterSeq: $after, first: ${EVENTS_PAGE}) { seq type payload at } }
      }`,
      { id: this.runId, after: this.lastSeq },
    );
    for (const e of run.events) this.handle(e);
    return { complete: run.eventsComplete, count: run.events.length };
  }

  /**
   * run.events every second until the log is complete (not at the terminal STATUS: the last
   * output lines are stored after it).
   */
  private poll(): Promise<void> {
    return pollToEnd(
      async (): Promise<PollResult> => {
        const { complete, count } = await this.pollOnce();
        if (count >= EVENTS_PAGE) return 'more';
        return complete ? 'ended' : 'later';
      },
      1000,
      this.reconnectMs,
    );
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
