import { ApiKeyScope } from '../modules/api-keys/api-key.entity';

/**
 * The scope a caller needs to fetch each node type through `node(id)`: the same scope as the root
 * fields that list that type, so that `node` is never a side door around them. `null` marks a type
 * that `node` never returns (API keys: their own ADMIN root field is the only way to them).
 * tests/node-scopes.test.ts fails when a Node entity has no entry here, or when an entry is laxer
 * than a root field returning that type.
 */
export const NODE_SCOPES: Readonly<Record<string, ApiKeyScope | null>> = Object.freeze({
  ApiKey: null,
  Checkpoint: ApiKeyScope.READ,
  Critique: ApiKeyScope.READ,
  Curriculum: ApiKeyScope.READ,
  Experiment: ApiKeyScope.READ,
  Dataset: ApiKeyScope.READ,
  Manifest: ApiKeyScope.READ,
  ManifestItem: ApiKeyScope.READ,
  PassRate: ApiKeyScope.READ,
  RoutingPolicy: ApiKeyScope.READ,
  Run: ApiKeyScope.READ,
  RunEvent: ApiKeyScope.READ,
  Sample: ApiKeyScope.READ,
  StageAssignment: ApiKeyScope.READ,
  Trace: ApiKeyScope.READ,
  // Webhook URLs carry tokens and deliveries carry payloads: ADMIN, like webhooks/webhookDeliveries.
  Webhook: ApiKeyScope.ADMIN,
  WebhookDelivery: ApiKeyScope.ADMIN,
});

/** The scope `node(id)` needs for `type`; undefined when node never returns that type. */
export function nodeScope(type: string): ApiKeyScope | undefined {
  return Object.hasOwn(NODE_SCOPES, type) ? (NODE_SCOPES[type] ?? undefined) : undefined;
}
