import type { EntityManager } from 'typeorm';
import type { RoutingPolicy } from '../routing/routing-policy.entity';
import type { TraceService } from '../traces/trace.service';
import { bridgeSftSamples, bridgedExternalId, type BridgeOutcome } from './bridge.sql';

const SAMPLES_PER_BATCH = 1_000;

/**
 * The hint fraction of a round: linear from the policy's `hintFractionStart` (default 0.5) in
 * round 1 to `hintFractionEnd` (default 0) in the last round, so the student is weaned off.
 */
export function hintFraction(policy: RoutingPolicy, round: number, rounds: number): number {
  const option = (name: string, fallback: number) => {
    const v = policy.bridgeOptions[name];
    return typeof v === 'number' && v >= 0 && v <= 1 ? v : fallback;
  };
  const start = option('hintFractionStart', 0.5);
  const end = option('hintFractionEnd', 0);
  return rounds <= 1 ? start : start + ((end - start) * (round - 1)) / (rounds - 1);
}

/**
 * Splits a trace into steps (sentences or lines, with the space after them) and gives the first
 * `fraction` of the steps before the last as the hint; the last step (the final answer) is
 * always left to learn. hint + rest is the trace.
 */
export function splitHint(text: string, fraction: number): { hint: string; rest: string } {
  const steps = text.match(/[^.\n]+(?:[.\n]+\s*|$)/g) ?? [text];
  const k = Math.floor(fraction * Math.max(0, steps.length - 1));
  const hint = steps.slice(0, k).join('');
  return { hint, rest: text.slice(hint.length) };
}

/**
 * Bridge `hint`: partial-solution supervision. For each SFT and REPLAY sample of a round, its first
 * verified teacher trace is split: the hint goes into the prompt (trace metadata `hint`), the
 * rest is what the student learns.
 */
export function bridgeByHint(
  manager: EntityManager,
  traces: TraceService,
  curriculumId: number,
  round: number,
  fraction: number,
): Promise<BridgeOutcome> {
  return bridgeSftSamples(
    manager,
    traces,
    curriculumId,
    round,
    SAMPLES_PER_BATCH,
    (_rows, groups) =>
      Promise.resolve(
        groups.map((g) => {
          const { hint, rest } = splitHint(g[0].text, fraction);
          return {
            parent_id: g[0].trace_id,
            external_id: bridgedExternalId(curriculumId, round),
            producer: 'hint',
            text: rest,
            metadata: { strategy: 'hint', hint, fraction },
          };
        }),
      ),
  );
}
