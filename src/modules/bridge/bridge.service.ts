import type { EntityManager } from 'typeorm';
import type { Checkpoint } from '../checkpoints/checkpoint.entity';
import type { RoutingPolicy } from '../routing/routing-policy.entity';
import type { TraceService } from '../traces/trace.service';
import { bridgeByHint, hintFraction } from './bridge.hint';
import { bridgeBySelect, scoreSelectCandidates } from './bridge.select';
import { bridgedExternalId, type BridgeOutcome, type SelectScores } from './bridge.sql';

export type { BridgeOutcome, SelectScores };

/**
 * The bridge: the in-API strategies that turn a round's SFT (and REPLAY) samples into traces a
 * small student can learn from (select: the teacher trace the student finds most likely; hint: a prefix in the
 * prompt). It decides; TraceService stores the BRIDGED traces and the student's scores.
 */
export class BridgeService {
  constructor(private readonly traces: TraceService) {}

  /** External id of the BRIDGED trace a curriculum round writes for a sample. */
  externalId(curriculumId: number, round: number): string {
    return bridgedExternalId(curriculumId, round);
  }

  /** The hint fraction of a round, annealed over the curriculum's rounds. */
  hintFraction(policy: RoutingPolicy, round: number, rounds: number): number {
    return hintFraction(policy, round, rounds);
  }

  /**
   * Bridge `select`, first half: the student's ONNX export scores the round's teacher traces.
   * Reads only; call it outside any transaction (before the curriculum's row lock).
   */
  scoreSelect(
    reader: EntityManager,
    curriculumId: number,
    round: number,
    student: Checkpoint,
  ): Promise<SelectScores> {
    if (reader.queryRunner?.isTransactionActive) {
      throw new Error('scoreSelect runs the student model: call it outside a transaction');
    }
    return scoreSelectCandidates(reader, curriculumId, round, student);
  }

  /** Bridge `select`, second half, with those scores, in the caller's transaction. */
  bySelect(
    manager: EntityManager,
    student: Checkpoint,
    scores: SelectScores,
  ): Promise<BridgeOutcome> {
    return bridgeBySelect(manager, this.traces, student, scores);
  }

  /** Bridge `hint` with the given fraction, in the caller's transaction. */
  byHint(
    manager: EntityManager,
    curriculumId: number,
    round: number,
    fraction: number,
  ): Promise<BridgeOutcome> {
    return bridgeByHint(manager, this.traces, curriculumId, round, fraction);
  }
}
