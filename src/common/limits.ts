/** Size limits on stored text, shared by GraphQL inputs and the NDJSON endpoints. */
export const LIMITS = {
  externalId: 256,
  problem: 100_000,
  answer: 10_000,
  domain: 128,
  tag: 128,
  tags: 64,
  traceText: 1_000_000,
  producer: 256,
  graderVersion: 64,
  metadataBytes: 64_000,
  /** Items in one importSamples / importTraces call; bigger sets go through NDJSON. */
  graphqlBatch: 1_000,
} as const;
