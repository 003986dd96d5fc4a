import type { EntityManager } from 'typeorm';
import { withTransaction, type RequestContext } from '../../common/request-context';
import { fromGlobalId, toGlobalId } from '../../common/ids';
import { Checkpoint } from '../checkpoints/checkpoint.entity';
import { ManifestPurpose } from '../manifests/manifest.entity';
import { BridgeStrategy, RoutingPolicy } from '../routing/routing-policy.entity';
import { Run, RunStage, RunStatus } from '../runs/run.entity';
import { isTerminal } from '../runs/run.types';
import {
  Curriculum,
  CurriculumAblation,
  CurriculumPhase,
  CurriculumStatus,
} from './curriculum.entity';
import { type DataLengths, probeTokens, stepsFor, tokensPerStep } from '../runs/run-compute.types';
import { CurriculumRound } from './curriculum-round.entity';
import {
  CRITIQUE_SET_SQL,
  DATASET_PROMPTS_SQL,
  REWRITE_SET_SQL,
  SFT_SET_SQL,
  STAGE_PROMPTS_SQL,
} from './curriculum.manifests';
import { critiqueStats, movedStats } from './curriculum.stats';
import { curriculumRunConfig } from './curriculum.defaults';
import type { Announcer } from '../../common/pubsub/announcer';
import type { ManifestService } from '../manifests/manifest.service';
import type { RunService } from '../runs/run.service';
import type { RoutingService } from '../routing/routing.service';
import type { BridgeService, SelectScores } from '../bridge/bridge.service';

/** What the curriculum loop works with, from the composition root (src/app/services.ts). */
export interface CurriculumCollaborators {
  runs: RunService;
  manifests: ManifestService;
  routing: RoutingService;
  bridge: BridgeService;
  announcer: Announcer;
}

/** What one transition did, for announcing after its commit. */
interface Step {
  curriculum: Curriculum;
  runs: Run[];
}

/** Where a round's EVAL accuracy goes in its stats. */
type EvalKey = 'baseEvalAccuracy' | 'evalAccuracy' | 'sftEvalAccuracy';

/** The round ran RL from its SFT checkpoint: its end checkpoint is another one. */
const rlFollowedSft = (
  r: CurriculumRound,
): r is CurriculumRound & { sftCheckpointId: number; endCheckpointId: number } =>
  r.sftCheckpointId !== null &&
  r.endCheckpointId !== null &&
  r.sftCheckpointId !== r.endCheckpointId;

/**
 * The curriculum loop as a state machine. Each call of `step` makes at most one transition
 * under the curriculum's row lock: it starts the run the next phase needs (and waits for it),
 * or does a set-based step (routing, in-API bridging) and moves on. A run that fails pauses
 * the curriculum with the reason; a retry of that run resumes it (RunService.retry).
 *
 * Round r: PROBE (student c_r) -> ROUTE -> BRIDGE -> SFT (-> c_r') -> REPROBE (c_r' on the
 * round's SFT and RL samples) -> RL on what c_r' partly solves (-> c_{r+1}) -> CRITIQUE of the
 * prompts RL could not fix -> round r+1 from c_{r+1}; after the last round, EVAL of the base
 * checkpoint, of every round's end checkpoint and of its SFT checkpoint c_r' (where RL followed
 * it) on the EVAL datasets.
 */
export class CurriculumEngine {
  constructor(
    private readonly ctx: RequestContext,
    private readonly deps: CurriculumCollaborators,
  ) {}

  /** Advances as far as possible now; returns the curriculum as it then stands. */
  async advance(curriculumId: number): Promise<Curriculum> {
    for (let i = 0; i < 16; i++) {
      if (!(await this.step(curriculumId))) break;
    }
    return this.ctx.ds.getRepository(Curriculum).findOneByOrFail({ id: curriculumId });
  }

  /** One transition; false when the curriculum waits (a run is live, it is paused or done). */
  async step(curriculumId: number): Promise<boolean> {
    // The student's ONNX scoring (bridge `select`) runs here, before the row lock's transaction.
    const scores = await this.scoreBeforeLock(curriculumId);
    const done = await withTransaction(this.ctx, async (tx) => {
      const step = await this.stepLocked(tx.manager, curriculumId, scores);
      // The runs it started and the curriculum, announced once the transaction has committed.
      if (step) {
        tx.afterCommit(async () => {
          for (const run of step.runs) await this.deps.runs.announceCreated(run);
          await this.deps.announcer.curriculumUpdated(curriculumId);
        });
      }
      return step;
    });
    if (!done) return false;
    return done.runs.length === 0 && done.curriculum.status === CurriculumStatus.ACTIVE;
  }

  /** The step under the curriculum's row lock; null when another process holds it or it waits. */
  private async stepLocked(
    m: EntityManager,
    curriculumId: number,
    scores: SelectScores | undefined,
  ): Promise<Step | null> {
    const locked = await m.query<unknown[]>(
      'SELECT id FROM curricula WHERE id = $1 FOR UPDATE SKIP LOCKED',
      [curriculumId],
    );
    if (locked.length === 0) return null; // another process is advancing it
    const c = await m.getRepository(Curriculum).findOneByOrFail({ id: curriculumId });
    if (c.status !== CurriculumStatus.ACTIVE) return null;
    const run = c.currentRunId
      ? await m.getRepository(Run).findOneByOrFail({ id: c.currentRunId })
      : null;
    if (run && !isTerminal(run.status)) return null;
    if (run && run.status !== RunStatus.SUCCEEDED) {
      c.status = CurriculumStatus.PAUSED;
      c.pauseReason = `${run.stage} run ${toGlobalId('Run', run.id)} ${run.status.toLowerCase()}${run.error ? `: ${run.error}` : ''}; retry it to resume`;
      await m.save(c);
      return { curriculum: c, runs: [] };
    }
    const runs: Run[] = [];
    await this.transition(m, c, run, runs, scores);
    c.currentRunId = runs.at(-1)?.id ?? null;
    await m.save(c);
    return { curriculum: c, runs };
  }

  /**
   * A curriculum routed for bridge `select` waits in ROUTE for its student's scores: they are
   * computed here, with no transaction open and no lock held, and handed to the next transition.
   */
  private async scoreBeforeLock(curriculumId: number): Promise<SelectScores | undefined> {
    const reader = this.ctx.ds.manager;
    const c = await reader.getRepository(Curriculum).findOneBy({ id: curriculumId });
    if (c?.status !== CurriculumStatus.ACTIVE || c.phase !== CurriculumPhase.ROUTE) return;
    if ((await this.policy(reader, c)).bridgeStrategy !== BridgeStrategy.SELECT) return;
    // The ablation trains on raw traces: nothing to score.
    if (c.ablations.includes(CurriculumAblation.NO_BRIDGE)) return;
    const student = await this.student(reader, c);
    return this.deps.bridge.scoreSelect(reader, c.id, c.currentRound, student);
  }

  private async student(m: EntityManager, c: Curriculum): Promise<Checkpoint> {
    const r = await this.round(m, c.id, c.currentRound);
    return m.getRepository(Checkpoint).findOneByOrFail({ id: r.startCheckpointId });
  }

  private async transition(
    m: EntityManager,
    c: Curriculum,
    run: Run | null,
    runs: Run[],
    scores?: SelectScores,
  ) {
    const round = c.currentRound;
    switch (c.phase) {
      case CurriculumPhase.PENDING:
        return this.beginRound(m, c, 1, c.baseCheckpointId, runs);
      case CurriculumPhase.PROBE:
        await this.route(m, c);
        return this.bridge(m, c, runs);
      case CurriculumPhase.ROUTE:
        return this.bridge(m, c, runs, scores);
      case CurriculumPhase.BRIDGE:
        if (run) await this.patchStats(m, c.id, round, { bridge: bridgeRunStats(run) });
        return this.startSft(m, c, runs);
      case CurriculumPhase.SFT:
        await this.patchRound(m, c.id, round, { sftCheckpointId: run!.outputCheckpointId });
        return this.startReprobe(m, c, runs);
      case CurriculumPhase.REPROBE:
        return this.startRl(m, c, runs);
      case CurriculumPhase.RL: {
        await this.patchRound(m, c.id, round, { endCheckpointId: run!.outputCheckpointId });
        // The last round's RL may end short of the budget (its steps are coarse): SFT takes the
        // rest, from the RL checkpoint.
        const last = round === c.rounds && run!.stage === RunStage.RL;
        if (last && (await this.startSftForRl(m, c, runs, run!.outputCheckpointId!))) return;
        if (c.ablations.includes(CurriculumAblation.NO_CRITIQUE)) return this.endRound(m, c, runs);
        const rl = await m.getRepository(Run).findOne({
          where: { curriculumId: c.id, round, stage: RunStage.RL, status: RunStatus.SUCCEEDED },
          order: { id: 'DESC' },
        });
        return rl ? this.startCritique(m, c, rl, runs) : this.endRound(m, c, runs);
      }
      case CurriculumPhase.CRITIQUE:
        if (run) await this.patchStats(m, c.id, round, { critiques: await critiqueStats(m, run) });
        return this.endRound(m, c, runs);
      case CurriculumPhase.EVAL:
        if (run) await this.recordEval(m, c, run);
        return this.nextEval(m, c, runs);
      case CurriculumPhase.DONE:
        return;
    }
  }

  private async beginRound(
    m: EntityManager,
    c: Curriculum,
    round: number,
    checkpointId: number,
    runs: Run[],
  ) {
    await m.getRepository(CurriculumRound).save({
      curriculumId: c.id,
      round,
      startCheckpointId: checkpointId,
      stats: {},
    });
    c.currentRound = round;
    c.phase = CurriculumPhase.PROBE;
    const policy = await this.policy(m, c);
    await this.startRun(m, c, runs, {
      stage: RunStage.PROBE,
      checkpointId,
      config: { k: policy.k, temperature: policy.temperature },
      items: [DATASET_PROMPTS_SQL, [c.id, round, 'TRAIN']],
    });
  }

  /** ROUTE: the round's assignments from its probe of the start checkpoint (set-based). */
  private async route(m: EntityManager, c: Curriculum) {
    c.phase = CurriculumPhase.ROUTE;
    const r = await this.round(m, c.id, c.currentRound);
    const policy = await this.policy(m, c);
    const checkpoint = await m
      .getRepository(Checkpoint)
      .findOneByOrFail({ id: r.startCheckpointId });
    // The round routes on its own probe's attempts, not on every probe of the checkpoint: an
    // experiment's arms and seeds share a base, and would route on each other's.
    const probe = await m.getRepository(Run).findOne({
      where: {
        curriculumId: c.id,
        round: c.currentRound,
        stage: RunStage.PROBE,
        status: RunStatus.SUCCEEDED,
      },
      order: { id: 'DESC' },
    });
    const applied = await this.deps.routing.applyToRound(
      m,
      c.id,
      c.currentRound,
      policy,
      checkpoint,
      probe?.id ?? null,
    );
    await this.patchStats(m, c.id, c.currentRound, {
      samplesPerStage: Object.fromEntries(applied.counts.map((x) => [x.stage, x.count])),
      unrouted: applied.unrouted,
      ...(await movedStats(m, c.id, c.currentRound)),
    });
  }

  /**
   * BRIDGE: in-API (select, hint, none) then SFT at once; rewrite starts a BRIDGE run. Select
   * stays in ROUTE until a step brings the student's scores of this round (scoreBeforeLock).
   */
  private async bridge(m: EntityManager, c: Curriculum, runs: Run[], scores?: SelectScores) {
    const round = c.currentRound;
    const policy = await this.policy(m, c);
    const noBridge = c.ablations.includes(CurriculumAblation.NO_BRIDGE);
    const student =
      !noBridge && policy.bridgeStrategy === BridgeStrategy.SELECT
        ? await this.student(m, c)
        : undefined;
    const scored =
      student &&
      scores?.curriculumId === c.id &&
      scores.round === round &&
      scores.studentId === student.id;
    if (student && !scored) return; // the next step scores first
    c.phase = CurriculumPhase.BRIDGE;
    if (noBridge) {
      await this.patchStats(m, c.id, round, { bridge: { strategy: 'NONE (ablation NO_BRIDGE)' } });
    } else if (policy.bridgeStrategy === BridgeStrategy.REWRITE) {
      await this.startRun(m, c, runs, {
        stage: RunStage.BRIDGE,
        checkpointId: null,
        config: policy.bridgeOptions.teacher ? { ...policy.bridgeOptions.teacher } : {},
        items: [REWRITE_SET_SQL, [c.id, round]],
      });
      if (runs.length > 0) return;
    } else if (student && scores) {
      const outcome = await this.deps.bridge.bySelect(m, student, scores);
      await this.patchStats(m, c.id, round, { bridge: { strategy: 'SELECT', ...outcome } });
    } else if (policy.bridgeStrategy === BridgeStrategy.HINT) {
      const fraction = this.deps.bridge.hintFraction(policy, round, c.rounds);
      const outcome = await this.deps.bridge.byHint(m, c.id, round, fraction);
      await this.patchStats(m, c.id, round, { bridge: { strategy: 'HINT', fraction, ...outcome } });
    }
    await this.startSft(m, c, runs);
  }

  /** SFT on bridged traces + replay + last round's verified critique data. */
  private async startSft(m: EntityManager, c: Curriculum, runs: Run[]) {
    c.phase = CurriculumPhase.SFT;
    const round = c.currentRound;
    const policy = await this.policy(m, c);
    const r = await this.round(m, c.id, round);
    const items = await this.sftItems(m, c, policy);
    const config = await this.sftBudget(m, c, policy, items);
    const started =
      config !== null &&
      (await this.startRun(m, c, runs, {
        stage: RunStage.SFT,
        checkpointId: r.startCheckpointId,
        config,
        items,
      }));
    if (!started) {
      // Nothing to learn by SFT this round: RL starts from the round's checkpoint.
      await this.patchRound(m, c.id, round, { sftCheckpointId: r.startCheckpointId });
      await this.startRl(m, c, runs);
    }
  }

  /** The round's SFT set: bridged traces (raw teacher traces without a bridge), replay, critiques. */
  private async sftItems(
    m: EntityManager,
    c: Curriculum,
    policy: RoutingPolicy,
  ): Promise<[string, unknown[]]> {
    const round = c.currentRound;
    const bridgeRun = await m.getRepository(Run).findOne({
      where: { curriculumId: c.id, round, stage: RunStage.BRIDGE, status: RunStatus.SUCCEEDED },
      order: { id: 'DESC' },
    });
    return [
      SFT_SET_SQL,
      [
        c.id,
        round,
        this.deps.bridge.externalId(c.id, round),
        bridgeRun?.id ?? null,
        policy.bridgeStrategy === BridgeStrategy.NONE ||
          c.ablations.includes(CurriculumAblation.NO_BRIDGE),
      ],
    ];
  }

  /** REPROBE: the post-SFT checkpoint on the round's SFT and RL samples. */
  private async startReprobe(m: EntityManager, c: Curriculum, runs: Run[]) {
    c.phase = CurriculumPhase.REPROBE;
    const r = await this.round(m, c.id, c.currentRound);
    const policy = await this.policy(m, c);
    const started = await this.startRun(m, c, runs, {
      stage: RunStage.PROBE,
      checkpointId: r.sftCheckpointId!,
      config: { k: policy.k, temperature: policy.temperature },
      items: [STAGE_PROMPTS_SQL, [c.id, c.currentRound, ['SFT', 'RL']]],
    });
    if (!started) await this.startRl(m, c, runs);
  }

  /** RL on what the post-SFT checkpoint partly solves. */
  private async startRl(m: EntityManager, c: Curriculum, runs: Run[]) {
    c.phase = CurriculumPhase.RL;
    const r = await this.round(m, c.id, c.currentRound);
    const policy = await this.policy(m, c);
    const items: [string, unknown[]] = c.ablations.includes(CurriculumAblation.NO_ROUTING_RL)
      ? [DATASET_PROMPTS_SQL, [c.id, c.currentRound, 'TRAIN']]
      : this.deps.routing.partlySolvedItems(c.id, c.currentRound, r.sftCheckpointId!, policy);
    const config = await this.rlBudget(m, c, items);
    const started =
      config !== null &&
      (await this.startRun(m, c, runs, {
        stage: RunStage.RL,
        checkpointId: r.sftCheckpointId!,
        config,
        items,
      }));
    if (!started && !(await this.startSftForRl(m, c, runs, r.sftCheckpointId!))) {
      await this.patchRound(m, c.id, c.currentRound, { endCheckpointId: r.sftCheckpointId });
      await this.endRound(m, c, runs);
    }
  }

  /**
   * Under a compute budget, what RL leaves of the round's share goes to more SFT on the round's
   * SFT set, from `checkpointId`: all of it when RL has nothing to train on (the re-probe found
   * nothing partly solved) or not one RL step fits (from the post-SFT checkpoint), what the
   * last round's RL run left (from its checkpoint); so the method spends its budget as the other
   * arms do. The run stands in the RL phase: its checkpoint ends the round, and the critique
   * still takes the round's RL run. False (and no run) without a budget, with an empty SFT set,
   * or when not one step fits.
   */
  private async startSftForRl(
    m: EntityManager,
    c: Curriculum,
    runs: Run[],
    checkpointId: number,
  ): Promise<boolean> {
    if (c.computeBudget === null) return false;
    const items = await this.sftItems(m, c, await this.policy(m, c));
    const left = this.roundEnd(c) - (await usedTokens(m, c.id));
    const config = this.sized(c, RunStage.SFT, left, await this.lengths(m, c, items));
    const started =
      config !== null &&
      (await this.startRun(m, c, runs, { stage: RunStage.SFT, checkpointId, config, items }));
    if (started) await this.patchStats(m, c.id, c.currentRound, { rlShareToSft: config.steps });
    return started;
  }

  /** CRITIQUE of the prompts whose whole group scored zero in the RL run. */
  private async startCritique(m: EntityManager, c: Curriculum, rl: Run, runs: Run[]) {
    c.phase = CurriculumPhase.CRITIQUE;
    const harvested = await harvestedSamples(m, rl.id);
    const started =
      harvested.length > 0 &&
      (await this.startRun(m, c, runs, {
        stage: RunStage.CRITIQUE,
        checkpointId: null,
        config: {},
        items: [CRITIQUE_SET_SQL, [c.id, c.currentRound, rl.id, harvested]],
      }));
    if (!started) {
      await this.patchStats(m, c.id, c.currentRound, {
        critiques: { harvested: harvested.length, written: 0, verified: 0 },
      });
      await this.endRound(m, c, runs);
    }
  }

  private async endRound(m: EntityManager, c: Curriculum, runs: Run[]) {
    const r = await this.round(m, c.id, c.currentRound);
    if (c.currentRound < c.rounds) {
      return this.beginRound(m, c, c.currentRound + 1, r.endCheckpointId!, runs);
    }
    c.phase = CurriculumPhase.EVAL;
    await this.nextEval(m, c, runs);
  }

  /**
   * EVAL, one run per checkpoint: the base (round 0), each round's end checkpoint and, where RL
   * ran after it, the round's SFT checkpoint (what RL started from), so the round's figures say
   * whether the RL stage kept, raised or lowered held-out accuracy.
   */
  private async nextEval(m: EntityManager, c: Curriculum, runs: Run[]) {
    c.phase = CurriculumPhase.EVAL;
    const rounds = await m.getRepository(CurriculumRound).find({
      where: { curriculumId: c.id },
      order: { round: 'ASC' },
    });
    const base = rounds[0];
    const todo: { round: number; checkpointId: number; key: EvalKey }[] = [];
    if (base && base.stats.baseEvalAccuracy === undefined) {
      todo.push({ round: 0, checkpointId: c.baseCheckpointId, key: 'baseEvalAccuracy' });
    }
    for (const r of rounds) {
      if (r.endCheckpointId && r.stats.evalAccuracy === undefined) {
        todo.push({ round: r.round, checkpointId: r.endCheckpointId, key: 'evalAccuracy' });
      }
      if (rlFollowedSft(r) && r.stats.sftEvalAccuracy === undefined) {
        todo.push({ round: r.round, checkpointId: r.sftCheckpointId, key: 'sftEvalAccuracy' });
      }
    }
    for (const next of todo) {
      const started = await this.startRun(m, c, runs, {
        stage: RunStage.EVAL,
        checkpointId: next.checkpointId,
        config: {},
        items: [DATASET_PROMPTS_SQL, [c.id, next.round, 'EVAL']],
        round: next.round,
      });
      if (started) return;
      await this.recordAccuracy(m, c, next.round, null, next.key);
    }
    c.phase = CurriculumPhase.DONE;
    c.status = CurriculumStatus.SUCCEEDED;
  }

  private async recordEval(m: EntityManager, c: Curriculum, run: Run) {
    const accuracy = run.metrics['eval/accuracy'];
    const round = run.round ?? 0;
    let key: EvalKey = 'baseEvalAccuracy';
    if (round > 0) {
      const r = await this.round(m, c.id, round);
      key =
        rlFollowedSft(r) && run.inputCheckpointId === r.sftCheckpointId
          ? 'sftEvalAccuracy'
          : 'evalAccuracy';
    }
    await this.recordAccuracy(m, c, round, typeof accuracy === 'number' ? accuracy : null, key);
  }

  private async recordAccuracy(
    m: EntityManager,
    c: Curriculum,
    round: number,
    acc: number | null,
    key: EvalKey,
  ) {
    if (key === 'baseEvalAccuracy') {
      const all = await m.getRepository(CurriculumRound).findBy({ curriculumId: c.id });
      for (const r of all) await this.patchStats(m, c.id, r.round, { baseEvalAccuracy: acc });
    } else {
      await this.patchStats(m, c.id, round, { [key]: acc });
    }
  }

  /**
   * Freezes the items and starts a run of the curriculum; false (and no run) when the
   * selection is empty, so the caller can skip the step.
   */
  private async startRun(
    m: EntityManager,
    c: Curriculum,
    runs: Run[],
    spec: {
      stage: RunStage;
      checkpointId: number | null;
      config: Record<string, unknown>;
      items: [string, unknown[]];
      round?: number;
    },
  ): Promise<boolean> {
    const manifest = await this.deps.manifests.freezeFromSql(
      m,
      ManifestPurpose[spec.stage],
      spec.items[0],
      spec.items[1],
      { allowEmpty: true },
    );
    if (manifest.itemCount === 0) return false;
    const config = curriculumRunConfig(spec.stage, c.stageConfigs, spec.config);
    if (c.computeBudget !== null && (spec.stage === RunStage.SFT || spec.stage === RunStage.RL)) {
      delete config.epochs;
    }
    const run = await this.deps.runs.createIn(m, {
      stage: spec.stage,
      config,
      inputCheckpointId: spec.checkpointId,
      manifestId: manifest.id,
      launcher: c.launcher,
      curriculumId: c.id,
      round: spec.round ?? c.currentRound,
    });
    runs.push(run);
    return true;
  }

  /**
   * SFT's config under a compute budget: round r may have used budget x r / rounds by its end;
   * of what is left after the re-probe to come (estimated at the last probe's mean completion
   * length), SFT gets SFT_SHARE_OF_ROUND and RL the rest (SFT all of it when the routing sent
   * nothing to RL). {} without a budget; null when not one step fits (the SFT is skipped).
   */
  private async sftBudget(
    m: EntityManager,
    c: Curriculum,
    policy: RoutingPolicy,
    items: [string, unknown[]],
  ): Promise<Record<string, unknown> | null> {
    if (c.computeBudget === null) return {};
    const lengths = await this.lengths(m, c, items);
    const [{ sft, rl }] = await m.query<{ sft: number; rl: number }[]>(
      `SELECT count(*) FILTER (WHERE stage = 'SFT')::int AS sft,
              count(*) FILTER (WHERE stage = 'RL')::int AS rl
       FROM stage_assignments WHERE curriculum_id = $1 AND round = $2`,
      [c.id, c.currentRound],
    );
    const reprobe = probeTokens(sft + rl, policy.k, lengths);
    const left = this.roundEnd(c) - (await usedTokens(m, c.id)) - reprobe;
    // With nothing routed to RL, RL will most likely have nothing to train on: SFT takes it all.
    const share =
      rl === 0 && !c.ablations.includes(CurriculumAblation.NO_ROUTING_RL) ? 1 : SFT_SHARE_OF_ROUND;
    return this.sized(c, RunStage.SFT, share * left, lengths);
  }

  /** RL's config under a compute budget: what is left of the round's part (the last: of all). */
  private async rlBudget(
    m: EntityManager,
    c: Curriculum,
    items: [string, unknown[]],
  ): Promise<Record<string, unknown> | null> {
    if (c.computeBudget === null) return {};
    const lengths = await this.lengths(m, c, items);
    const left = this.roundEnd(c) - (await usedTokens(m, c.id));
    return this.sized(c, RunStage.RL, left, lengths);
  }

  private roundEnd(c: Curriculum): number {
    return (c.computeBudget! * c.currentRound) / c.rounds;
  }

  /** The selection's lengths, with the student's mean completion from its latest probe. */
  private async lengths(
    m: EntityManager,
    c: Curriculum,
    items: [string, unknown[]],
  ): Promise<DataLengths> {
    const lengths = await this.deps.manifests.selectionLengths(m, items[0], items[1]);
    const [probe] = await m.query<{ completion: number | null }[]>(
      `SELECT (metrics->>'probe/mean_completion_tokens')::float AS completion FROM runs
       WHERE curriculum_id = $1 AND stage = 'PROBE' AND status = 'SUCCEEDED'
       ORDER BY id DESC LIMIT 1`,
      [c.id],
    );
    return probe?.completion ? { ...lengths, completion: probe.completion } : lengths;
  }

  private sized(
    c: Curriculum,
    stage: RunStage.SFT | RunStage.RL,
    tokens: number,
    lengths: DataLengths,
  ): Record<string, unknown> | null {
    // The budget sets the steps: an epochs cap in the stage's config would cut them short.
    const { epochs: _epochs, ...config } = c.stageConfigs[stage] ?? {};
    const steps = stepsFor(tokens, tokensPerStep(stage, config, lengths));
    return steps > 0 ? { steps } : null;
  }

  private policy(m: EntityManager, c: Curriculum): Promise<RoutingPolicy> {
    return m.getRepository(RoutingPolicy).findOneByOrFail({ id: c.policyId });
  }

  private round(m: EntityManager, curriculumId: number, round: number) {
    return m.getRepository(CurriculumRound).findOneByOrFail({ curriculumId, round });
  }

  private async patchRound(
    m: EntityManager,
    curriculumId: number,
    round: number,
    fields: Pick<Partial<CurriculumRound>, 'sftCheckpointId' | 'endCheckpointId'>,
  ) {
    await m.getRepository(CurriculumRound).update({ curriculumId, round }, fields);
  }

  /** Merges figures into a round's stats (jsonb ||, one statement). */
  private async patchStats(
    m: EntityManager,
    curriculumId: number,
    round: number,
    stats: Record<string, unknown>,
  ) {
    await m.query(
      `UPDATE curriculum_rounds SET stats = stats || $3::jsonb, updated_at = now()
       WHERE curriculum_id = $1 AND round = $2`,
      [curriculumId, round, JSON.stringify(stats)],
    );
  }
}

/** A round's SFT part of what its probes leave of its budget; RL gets the rest. */
const SFT_SHARE_OF_ROUND = 0.5;

/** Tokens the curriculum's succeeded student runs used (probes, SFT, RL: compute/tokens). */
async function usedTokens(m: EntityManager, curriculumId: number): Promise<number> {
  const [row] = await m.query<{ used: number }[]>(
    `SELECT coalesce(sum((metrics->>'compute/tokens')::float), 0)::float AS used FROM runs
     WHERE curriculum_id = $1 AND stage IN ('PROBE', 'SFT', 'RL') AND status = 'SUCCEEDED'`,
    [curriculumId],
  );
  return row.used;
}

/** The samples an RL run harvested (its last `harvested_prompts` artifact), as row ids. */
async function harvestedSamples(m: EntityManager, runId: number): Promise<string[]> {
  const rows = await m.query<{ payload: { samples?: { sampleId?: string }[] } }[]>(
    `SELECT payload FROM run_events WHERE run_id = $1 AND type = 'ARTIFACT'
       AND payload->>'kind' = 'harvested_prompts' ORDER BY seq DESC LIMIT 1`,
    [runId],
  );
  const samples = rows[0]?.payload.samples ?? [];
  return samples.flatMap((s) => {
    if (!s.sampleId) return [];
    try {
      const id = fromGlobalId(s.sampleId);
      return id.type === 'Sample' ? [id.id] : [];
    } catch {
      return [];
    }
  });
}

function bridgeRunStats(run: Run): Record<string, unknown> {
  const metric = (name: string) => run.metrics[`bridge/${name}`] ?? null;
  return {
    strategy: 'REWRITE',
    rewritten: metric('rewritten'),
    verified: metric('verified'),
    rejected: metric('rejected'),
    teacherFailures: metric('teacher_failures'),
  };
}
