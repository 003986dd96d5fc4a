import { withTransaction, type RequestContext } from '../../common/request-context';
import { badInput } from '../../common/errors';
import { idOf, toGlobalId } from '../../common/ids';
import { keysetPage, type PageArgs } from '../../common/pagination';
import { RoutingPolicy } from './routing-policy.entity';
import { StageAssignment } from './stage-assignment.entity';
import type { CreateRoutingPolicyInput, StageAssignmentFilter } from './routing.inputs';
import type { EntityManager } from 'typeorm';
import { loadNode } from '../../common/load-node';
import { Checkpoint } from '../checkpoints/checkpoint.entity';
import { Curriculum } from '../curricula/curriculum.entity';
import { CurriculumDataset } from '../curricula/curriculum-dataset.entity';
import { Dataset } from '../datasets/dataset.entity';
import { PassRate } from '../mastery/pass-rate.entity';
import { Sample } from '../samples/sample.entity';
import { PARTLY_SOLVED_SQL, routedSql, routingParams, type RoutingScope } from './routing.sql';
import { applyRoutingSql, stageCounts } from './routing.apply';
import type {
  ApplyRoutingResult,
  AssignmentExplanation,
  RoutingPreview,
  StageMove,
} from './routing.types';

/** The SQL of the current assignments of a round, as (sample_id, stage text). */
const CURRENT_SQL = (c: string, r: string) =>
  `SELECT sample_id, stage::text AS stage FROM stage_assignments WHERE curriculum_id = ${c} AND round = ${r}`;

/**
 * Routing: immutable policy versions and the stage assignments made with them. The one writer
 * of `stage_assignments`, and the one place a pass rate is held against a policy's thresholds.
 */
export class RoutingService {
  listPolicies(ctx: RequestContext, name: string | undefined, page: PageArgs) {
    const q = ctx.ds.getRepository(RoutingPolicy).createQueryBuilder('p');
    if (name != null) q.andWhere('p.name = :name', { name });
    return keysetPage(ctx.cursors, q, page);
  }

  /** Never updates: a policy under an existing name becomes its next version. */
  async createPolicy(ctx: RequestContext, input: CreateRoutingPolicyInput): Promise<RoutingPolicy> {
    if (input.tauLow >= input.tauHigh) {
      throw badInput(`tauLow (${input.tauLow}) must be below tauHigh (${input.tauHigh})`);
    }
    return withTransaction(ctx, async ({ manager }) => {
      // Serialise versioning per name so two concurrent creates cannot both take version n.
      await manager.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
        `routing_policy:${input.name}`,
      ]);
      const repo = manager.getRepository(RoutingPolicy);
      const latest = await repo.findOne({
        where: { name: input.name },
        order: { version: 'DESC' },
      });
      return repo.save(
        repo.create({
          name: input.name,
          version: (latest?.version ?? 0) + 1,
          k: input.k,
          temperature: input.temperature,
          tauLow: input.tauLow,
          tauHigh: input.tauHigh,
          minAttempts: input.minAttempts,
          replayFraction: input.replayFraction,
          bridgeStrategy: input.bridgeStrategy,
          bridgeOptions: input.bridgeOptions ?? {},
          seed: input.seed,
        }),
      );
    });
  }

  listAssignments(ctx: RequestContext, f: StageAssignmentFilter, page: PageArgs) {
    const q = ctx.ds.getRepository(StageAssignment).createQueryBuilder('a');
    if (f.curriculumId)
      q.andWhere('a.curriculumId = :c', { c: idOf('Curriculum', f.curriculumId) });
    if (f.round !== undefined) q.andWhere('a.round = :round', { round: f.round });
    if (f.stage) q.andWhere('a.stage = :stage', { stage: f.stage });
    if (f.sampleId) q.andWhere('a.sampleId = :s', { s: idOf('Sample', f.sampleId) });
    return keysetPage(ctx.cursors, q, page);
  }

  /** Resolves the ids a routing is computed from; every id is checked. */
  async scope(
    ctx: RequestContext,
    policyId: string,
    checkpointId: string,
    datasetIds: string[],
  ): Promise<RoutingScope> {
    const policy = await loadNode(ctx, RoutingPolicy, policyId);
    const checkpoint = await loadNode(ctx, Checkpoint, checkpointId);
    const datasets = await Promise.all(datasetIds.map((id) => loadNode(ctx, Dataset, id)));
    if (datasets.length === 0) throw badInput('Give at least one dataset to route');
    return {
      policy,
      checkpointId: checkpoint.id,
      checkpointName: checkpoint.name,
      datasetIds: datasets.map((d) => d.id),
    };
  }

  /** Counts per stage and the moves against a round's current assignments; writes nothing. */
  async preview(
    ctx: RequestContext,
    scope: RoutingScope,
    curriculumId: number | null,
    round: number | null,
  ): Promise<RoutingPreview> {
    const rows = await ctx.ds.query<{ stage: string | null; from: string; n: number }[]>(
      `WITH routed AS (${routedSql(2)}), cur AS (${CURRENT_SQL('$1', '$2')})
       SELECT r.stage, coalesce(c.stage, 'NONE') AS "from", count(*)::int AS n
       FROM routed r LEFT JOIN cur c ON c.sample_id = r.sample_id
       GROUP BY r.stage, coalesce(c.stage, 'NONE')`,
      [curriculumId ?? 0, round ?? 0, ...routingParams(scope)],
    );
    const { counts, unrouted } = stageCounts(rows);
    const moves: StageMove[] = rows
      .map((r) => ({ from: r.from, to: r.stage ?? 'UNROUTED', count: r.n }))
      .filter((m) => m.from !== m.to && !(m.from === 'NONE' && m.to === 'UNROUTED'));
    return {
      counts,
      unrouted,
      total: rows.reduce((a, r) => a + r.n, 0),
      moves,
      moved: moves.reduce((a, m) => a + m.count, 0),
      scope,
      curriculumId,
      round,
    };
  }

  /** The samples of one move of a preview, as a keyset page. */
  movedSamples(
    ctx: RequestContext,
    preview: RoutingPreview,
    from: string,
    to: string,
    page: PageArgs,
  ) {
    const params = [preview.curriculumId ?? 0, preview.round ?? 0, ...routingParams(preview.scope)];
    const named = (sql: string) => sql.replace(/\$(\d+)/g, (_, n: string) => `:rp${n}`);
    const q = ctx.ds
      .getRepository(Sample)
      .createQueryBuilder('s')
      .where(
        named(`s.id IN (SELECT r.sample_id FROM (${routedSql(2)}) r
          LEFT JOIN (${CURRENT_SQL('$1', '$2')}) c ON c.sample_id = r.sample_id
          WHERE coalesce(c.stage, 'NONE') = :fromStage AND coalesce(r.stage, 'UNROUTED') = :toStage)`),
        { fromStage: from, toStage: to },
      )
      .setParameters(Object.fromEntries(params.map((v, i) => [`rp${i + 1}`, v])));
    return keysetPage(ctx.cursors, q, page);
  }

  /** Writes a round's assignments (one transaction, set-based); applying twice changes nothing. */
  async apply(
    ctx: RequestContext,
    curriculumId: string,
    round: number,
    policyId: string | null | undefined,
    checkpointId: string,
    datasetIds: string[] | null | undefined,
  ): Promise<ApplyRoutingResult> {
    const curriculum = await loadNode(ctx, Curriculum, curriculumId);
    const datasets = datasetIds?.length
      ? datasetIds
      : await this.trainDatasetIds(ctx.ds.manager, curriculum.id);
    const scope = await this.scope(
      ctx,
      policyId ?? toGlobalId('RoutingPolicy', curriculum.policyId),
      checkpointId,
      datasets,
    );
    return withTransaction(ctx, (tx) => applyRoutingSql(tx.manager, curriculum.id, round, scope));
  }

  /**
   * A curriculum round's assignments on the curriculum's TRAIN datasets, in the caller's
   * transaction (the curriculum engine's ROUTE step): from the round's own probe run of the
   * checkpoint when given (RoutingScope.probeRunId), else from the checkpoint's pass rates.
   */
  async applyToRound(
    manager: EntityManager,
    curriculumId: number,
    round: number,
    policy: RoutingPolicy,
    checkpoint: Pick<Checkpoint, 'id' | 'name'>,
    probeRunId: number | null = null,
  ): Promise<ApplyRoutingResult> {
    return applyRoutingSql(manager, curriculumId, round, {
      policy,
      checkpointId: checkpoint.id,
      checkpointName: checkpoint.name,
      datasetIds: await this.trainDatasetRowIds(manager, curriculumId),
      probeRunId,
    });
  }

  /**
   * The RL prompts of a round as a selection for ManifestService.freezeFromSql: the round's
   * SFT and RL samples that `checkpointId` partly solves under the policy.
   */
  partlySolvedItems(
    curriculumId: number,
    round: number,
    checkpointId: number,
    policy: RoutingPolicy,
  ): [string, unknown[]] {
    return [
      PARTLY_SOLVED_SQL,
      [curriculumId, round, checkpointId, policy.tauLow, policy.tauHigh, policy.minAttempts],
    ];
  }

  async trainDatasetIds(manager: EntityManager, curriculumId: number): Promise<string[]> {
    return (await this.trainDatasetRowIds(manager, curriculumId)).map((id) =>
      toGlobalId('Dataset', id),
    );
  }

  private async trainDatasetRowIds(
    manager: EntityManager,
    curriculumId: number,
  ): Promise<number[]> {
    const links = await manager
      .getRepository(CurriculumDataset)
      .findBy({ curriculumId, role: 'TRAIN' });
    return links.map((l) => l.datasetId);
  }

  /** Why a sample is in its stage in a round, or why it has none. */
  async explain(
    ctx: RequestContext,
    sampleId: string,
    curriculumId: string,
    round: number,
  ): Promise<AssignmentExplanation> {
    const sample = await loadNode(ctx, Sample, sampleId);
    const curriculum = await loadNode(ctx, Curriculum, curriculumId);
    const assignment = await ctx.ds
      .getRepository(StageAssignment)
      .findOneBy({ curriculumId: curriculum.id, round, sampleId: sample.id });
    if (assignment) {
      const passRate = await ctx.ds
        .getRepository(PassRate)
        .findOneBy({ sampleId: sample.id, checkpointId: assignment.checkpointId });
      return { stage: assignment.stage, explanation: assignment.reason, assignment, passRate };
    }
    const { explanation, passRate } = await this.whyUnassigned(ctx, sample, curriculum, round);
    return { stage: null, explanation, assignment: null, passRate };
  }

  private async whyUnassigned(
    ctx: RequestContext,
    sample: Sample,
    curriculum: Curriculum,
    round: number,
  ): Promise<{ explanation: string; passRate: PassRate | null }> {
    const say = (explanation: string, passRate: PassRate | null = null) => ({
      explanation,
      passRate,
    });
    const trains = await this.trainDatasetIds(ctx.ds.manager, curriculum.id);
    if (!trains.includes(toGlobalId('Dataset', sample.datasetId))) {
      return say(`The sample's dataset is not one curriculum ${curriculum.name} trains on`);
    }
    const any = await ctx.ds
      .getRepository(StageAssignment)
      .findOne({ where: { curriculumId: curriculum.id, round } });
    if (!any) return say(`Round ${round} of curriculum ${curriculum.name} has not been routed yet`);
    const policy = await ctx.ds.getRepository(RoutingPolicy).findOneByOrFail({ id: any.policyId });
    const passRate = await ctx.ds
      .getRepository(PassRate)
      .findOneBy({ sampleId: sample.id, checkpointId: any.checkpointId });
    const attempts = passRate?.attempts ?? 0;
    return say(
      `Not routed: ${attempts} graded attempt(s) under the round's checkpoint, fewer than minAttempts ${policy.minAttempts} (policy ${policy.name} v${policy.version})`,
      passRate,
    );
  }
}
