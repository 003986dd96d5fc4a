import { Arg, Ctx, ID, Query, Resolver } from 'type-graphql';
import type { EntityTarget, ObjectLiteral } from 'typeorm';
import type { RequestContext } from './context';
import { Node } from '../common/db/base.entity';
import { fromGlobalId } from '../common/ids';
import { notFound } from '../common/errors';
import { ApiKey } from '../modules/api-keys/api-key.entity';
import { Checkpoint } from '../modules/checkpoints/checkpoint.entity';
import { Critique } from '../modules/critiques/critique.entity';
import { Curriculum } from '../modules/curricula/curriculum.entity';
import { Dataset } from '../modules/datasets/dataset.entity';
import { Manifest } from '../modules/manifests/manifest.entity';
import { ManifestItem } from '../modules/manifests/manifest-item.entity';
import { PassRate } from '../modules/mastery/pass-rate.entity';
import { RoutingPolicy } from '../modules/routing/routing-policy.entity';
import { StageAssignment } from '../modules/routing/stage-assignment.entity';
import { Run } from '../modules/runs/run.entity';
import { RunEvent } from '../modules/runs/run-event.entity';
import { Sample } from '../modules/samples/sample.entity';
import { Trace } from '../modules/traces/trace.entity';

/** Every type node(id) can return, by the type name inside the global id. */
const NODE_TYPES: Record<string, EntityTarget<ObjectLiteral & { id: string | number }>> = {
  Checkpoint,
  Critique,
  Curriculum,
  Dataset,
  Manifest,
  ManifestItem,
  PassRate,
  RoutingPolicy,
  Run,
  RunEvent,
  Sample,
  StageAssignment,
  Trace,
};

@Resolver()
export class NodeResolver {
  @Query(() => Node, {
    description: 'Any object by its global id. NOT_FOUND when it does not exist.',
  })
  async node(@Ctx() ctx: RequestContext, @Arg('id', () => ID) id: string): Promise<Node> {
    const { type, id: pk } = fromGlobalId(id);
    // API keys are ADMIN data: reachable through apiKeys, not node().
    const entity = type === ApiKey.name ? undefined : NODE_TYPES[type];
    const found = entity ? await ctx.loaders.byId(entity).load(pk) : null;
    if (!found) throw notFound('Object', id);
    return found as unknown as Node;
  }
}
