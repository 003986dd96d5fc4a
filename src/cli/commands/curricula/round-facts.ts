/**
 * A round's figures as `curricula watch` prints them: each fact once, as it appears (routed,
 * bridged, checkpoints, critiques, eval), however often the curriculum is read again.
 */
import type { RoundView } from './curriculum';
import { bridgeWritten, num, pct } from './text';

export class RoundFacts {
  /** Facts already printed, e.g. "1:routed". */
  private readonly printed = new Set<string>();

  constructor(private readonly line: (text: string) => void) {}

  print(r: RoundView, rounds: number): void {
    const s = r.stats ?? {};
    const once = (key: string, text: () => string, label = `round ${r.round}/${rounds} `) => {
      if (this.printed.has(`${r.round}:${key}`)) return;
      this.printed.add(`${r.round}:${key}`);
      this.line(`           ${label}${text()}`);
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
    if (s.sftEvalAccuracy !== undefined) {
      once(
        'sft-eval',
        () => `eval of the SFT checkpoint (before RL): accuracy ${pct(s.sftEvalAccuracy)}`,
      );
    }
    if (s.evalAccuracy !== undefined) {
      once('eval', () => `eval: accuracy ${pct(s.evalAccuracy)}`);
    }
  }
}
