/**
 * Follows one experiment to SUCCEEDED, PAUSED or CANCELLED: a line for each change of its status
 * and each arm's progress (a seed done, tokens used moved by a tenth of the budget; the mean so
 * far), the status table at the end, and the outcome as the exit code (0 SUCCEEDED, 1 PAUSED,
 * 2 CANCELLED).
 *
 * It listens on experimentUpdated and re-reads the experiment over HTTP after subscribing and
 * every 15 s; reconnecting and polling are the shared follower's (src/cli/follow).
 */
import type { ApiClient } from '../../api-client';
import { clock, formatDuration } from '../output';
import { exitOnCtrlC } from '../../follow/ctrl-c';
import { exitCodeForOutcome } from '../../follow/exit-codes';
import { followRow } from '../../follow/follow-row';
import {
  STATUS_FIELDS,
  TERMINAL,
  fetchExperiment,
  type ArmView,
  type ExperimentView,
} from './experiment';
import { pct, renderStatus } from './status';

const EXPERIMENT_UPDATED = `subscription($id: ID!) {
  experimentUpdated(experimentId: $id) { ${STATUS_FIELDS} }
}`;

/** A new tokens-used line once an arm's figure moved by this share of the budget. */
const TOKENS_STEP = 0.1;

function armProgress(a: ArmView, seeds: number): string {
  const mean = a.meanAccuracy === null ? '' : `, mean ${pct(a.meanAccuracy)}`;
  return `${a.arm}: ${a.seedsDone}/${seeds} seeds done, ${Math.round(a.computeUsed)} tokens used${mean}`;
}

/** `watch()` resolves to the exit code. */
export class ExperimentWatcher {
  private last: ExperimentView | undefined;
  /** Per arm, what its last line showed. */
  private readonly armShown = new Map<string, { seedsDone: number; tokens: number }>();
  private readonly reconnectMs: number;
  private onTerminal: (() => void) | undefined;

  constructor(
    private readonly api: ApiClient,
    private readonly id: string,
    options: { reconnectTimeoutSeconds?: number } = {},
  ) {
    this.reconnectMs = (options.reconnectTimeoutSeconds ?? 120) * 1000;
  }

  async watch(): Promise<number> {
    const e = await fetchExperiment(this.api, this.id);
    console.log(
      `Watching experiment ${e.name} (${e.id}): ${e.status}; ${e.armNames.join(', ')} x ` +
        `${e.seeds} seed${e.seeds === 1 ? '' : 's'}; budget ${e.computeBudget} tokens`,
    );
    const started = Date.now();
    this.update(e);
    // Lines only, nothing redrawn: nothing to clear before the hint.
    const stopExitOnCtrlC = exitOnCtrlC(
      `experiment ${this.id}`,
      `stagewise experiments cancel ${this.id}`,
      () => undefined,
    );
    try {
      if (!this.isTerminal()) await this.follow();
      const final = this.last!;
      const took = formatDuration((Date.now() - started) / 1000);
      console.log(`Experiment ${final.name} ${final.status} (watched ${took})`);
      console.log(renderStatus(final));
      return exitCodeForOutcome(final.status);
    } finally {
      stopExitOnCtrlC();
      await this.api.close();
    }
  }

  private isTerminal(): boolean {
    return this.last !== undefined && TERMINAL.has(this.last.status);
  }

  /** Prints what changed since the last view: its status, each arm's progress. */
  private update(e: ExperimentView): void {
    const prev = this.last;
    // A read that started before one already shown can arrive after it: keep the newer.
    if (prev && Date.parse(e.updatedAt) < Date.parse(prev.updatedAt)) return;
    this.last = e;
    const t = `[${clock()}]`;
    // A line when a seed finishes, or its tokens used moved by a tenth of the budget (the
    // runner reports them as it goes: a line each time would flood a long experiment).
    for (const a of e.arms ?? []) {
      const shown = this.armShown.get(a.arm);
      const moved =
        !shown ||
        shown.seedsDone !== a.seedsDone ||
        Math.abs(a.computeUsed - shown.tokens) >= TOKENS_STEP * e.computeBudget;
      if (!moved) continue;
      this.armShown.set(a.arm, { seedsDone: a.seedsDone, tokens: a.computeUsed });
      console.log(`${t}   ${armProgress(a, e.seeds)}`);
    }
    if (prev && prev.status !== e.status) {
      console.log(`${t} ${e.status}${e.pauseReason ? `: ${e.pauseReason}` : ''}`);
    }
    if (this.isTerminal()) this.onTerminal?.();
  }

  private follow(): Promise<void> {
    return followRow({
      api: this.api,
      subscription: 'experimentUpdated',
      variables: { id: this.id },
      streams: [
        {
          query: EXPERIMENT_UPDATED,
          next: (data: { experimentUpdated: ExperimentView }) =>
            this.update(data.experimentUpdated),
          required: 'experimentUpdated',
        },
      ],
      reconnectMs: this.reconnectMs,
      fetch: () => fetchExperiment(this.api, this.id),
      update: (e) => this.update(e),
      ended: () => this.isTerminal(),
      onEnded: (end) => (this.onTerminal = end),
      line: (text) => console.log(text),
    });
  }
}
