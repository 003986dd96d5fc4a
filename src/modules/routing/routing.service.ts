import type { RequestContext } from '../../app/context';
import { badInput } from '../../common/errors';
import { idOf } from '../../common/ids';
import { keysetPage, type PageArgs } from '../../common/pagination';
import { withTransaction } from '../../common/db/transaction';
import { RoutingPolicy } from './routing-policy.entity';
import { StageAssignment } from './stage-assignment.entity';
import type { CreateRoutingPolicyInput, StageAssignmentFilter } from './routing.inputs';

/** Routing: immutable policy versions and the stage assignments made with them. */
export class RoutingService {
  listPolicies(ctx: RequestContext, name: string | undefined, page: PageArgs) {
    const q = ctx.ds.getRepository(RoutingPolicy).createQueryBuilder('p');
    if (name !== undefined) q.andWhere('p.name = :name', { name });
    return keysetPage(ctx.cursors, q, page);
  }

  /** Never updates: a policy under an existing name becomes its next version. */
  async createPolicy(ctx: RequestContext, input: CreateRoutingPolicyInput): Promise<RoutingPolicy> {
    if (input.tauLow >= input.tauHigh) {
      throw badInput(`tauLow (${input.tauLow}) must be below tauHigh (${input.tauHigh})`);
    }
    return withTransaction(ctx.ds, async (qr) => {
      // Serialise versioning per name so two concurrent creates cannot both take version n.
      await qr.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
        `routing_policy:${input.name}`,
      ]);
      const repo = qr.manager.getRepository(RoutingPolicy);
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
}
