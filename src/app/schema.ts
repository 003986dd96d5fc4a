import 'reflect-metadata';
import { buildSchema, getMetadataStorage, type ContainerType, type PubSub } from 'type-graphql';
import { createPubSub } from '@graphql-yoga/subscription';
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { NodeResolver } from './node.resolver';
import { guardRootFields } from '../common/auth/root-scopes';
import { validateOncePerRequest } from './argument-validation';
import { ApiKeyResolver } from '../modules/api-keys/api-key.resolver';
import { CheckpointResolver } from '../modules/checkpoints/checkpoint.resolver';
import { CritiqueResolver } from '../modules/critiques/critique.resolver';
import {
  CurriculumResolver,
  CurriculumRoundResolver,
} from '../modules/curricula/curriculum.resolver';
import { DatasetResolver } from '../modules/datasets/dataset.resolver';
import { ExperimentResolver } from '../modules/experiments/experiment.resolver';
import { ManifestItemResolver, ManifestResolver } from '../modules/manifests/manifest.resolver';
import { PassRateResolver } from '../modules/mastery/pass-rate.resolver';
import { MasteryResolver } from '../modules/mastery/mastery.resolver';
import { RoutingPreviewResolver } from '../modules/routing/routing-preview.resolver';
import {
  RoutingPolicyResolver,
  StageAssignmentResolver,
} from '../modules/routing/routing.resolver';
import { RunEventResolver } from '../modules/runs/run-event.resolver';
import { RunResolver } from '../modules/runs/run.resolver';
import { RunSubscriptionResolver } from '../modules/runs/run.subscriptions';
import { SampleResolver } from '../modules/samples/sample.resolver';
import { TraceResolver } from '../modules/traces/trace.resolver';
import { WebhookResolver } from '../modules/webhooks/webhook.resolver';
import type { Services } from './services';

export const RESOLVERS = [
  NodeResolver,
  ApiKeyResolver,
  CheckpointResolver,
  CritiqueResolver,
  CurriculumResolver,
  CurriculumRoundResolver,
  DatasetResolver,
  ExperimentResolver,
  ManifestResolver,
  ManifestItemResolver,
  MasteryResolver,
  PassRateResolver,
  RoutingPolicyResolver,
  RoutingPreviewResolver,
  StageAssignmentResolver,
  RunEventResolver,
  RunResolver,
  RunSubscriptionResolver,
  SampleResolver,
  TraceResolver,
  WebhookResolver,
] as const;

/**
 * The resolvers, each built once with the services it calls (constructor injection); those that
 * call none are built without arguments.
 */
function resolverContainer(s: Services): ContainerType {
  const built = new Map<unknown, object>([
    [ApiKeyResolver, new ApiKeyResolver(s.apiKeys)],
    [CheckpointResolver, new CheckpointResolver(s.checkpoints)],
    [CritiqueResolver, new CritiqueResolver(s.critiques)],
    [CurriculumResolver, new CurriculumResolver(s.curricula)],
    [DatasetResolver, new DatasetResolver(s.datasets)],
    [ExperimentResolver, new ExperimentResolver(s.experiments)],
    [MasteryResolver, new MasteryResolver(s.mastery)],
    [RoutingPolicyResolver, new RoutingPolicyResolver(s.routing)],
    [RoutingPreviewResolver, new RoutingPreviewResolver(s.routing)],
    [StageAssignmentResolver, new StageAssignmentResolver(s.routing)],
    [RunResolver, new RunResolver(s.runs)],
    [SampleResolver, new SampleResolver(s.samples)],
    [TraceResolver, new TraceResolver(s.traces)],
    [WebhookResolver, new WebhookResolver(s.webhooks)],
  ]);
  for (const resolver of RESOLVERS) {
    if (!built.has(resolver)) built.set(resolver, new (resolver as new () => object)());
  }
  return { get: (someClass: unknown) => built.get(someClass) };
}

/**
 * The executable schema; its printed SDL is committed as schema.graphql. `pubSub` is the
 * server's announcement bus (type-graphql requires one once there are subscriptions; ours
 * subscribe through the context's announcements, so an in-process one does for printing the
 * SDL). `services` are what the resolvers call; a schema built without them (printing the SDL,
 * inspecting it in tests) must not be executed.
 */
export async function buildAppSchema(
  pubSub: PubSub = createPubSub(),
  services?: Services,
): Promise<GraphQLSchema> {
  markPlainFieldsSimple();
  const schema = await buildSchema({
    resolvers: RESOLVERS,
    pubSub,
    container: services ? resolverContainer(services) : undefined,
    validateFn: validateOncePerRequest,
  });
  guardRootFields(schema);
  return schema;
}

/**
 * A field that only reads a property of the same name gets graphql-js's default resolver instead
 * of type-graphql's wrapper (a resolver data object and a middleware chain per value): most of a
 * large response is such fields.
 */
function markPlainFieldsSimple(): void {
  for (const field of getMetadataStorage().fields) {
    if (field.simple !== undefined) continue;
    const plain =
      field.schemaName === field.name &&
      !field.middlewares?.length &&
      !field.roles?.length &&
      !field.params?.length;
    if (plain) field.simple = true;
  }
}

/** The schema's SDL in a stable order, as committed in schema.graphql. */
export async function printAppSchema(): Promise<string> {
  return printSchema(lexicographicSortSchema(await buildAppSchema())) + '\n';
}
