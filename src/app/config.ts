import { z } from 'zod';

/**
 * The one typed, validated configuration of an API process. Every environment variable the
 * server reads is declared here, with its default; the README's configuration table mirrors it.
 */
const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  /** When unset, an embedded PostgreSQL is started and used. */
  DATABASE_URL: z.string().url().optional(),
  /** Where the embedded PostgreSQL keeps its data; survives restarts. */
  STAGEWISE_DATA_DIR: z.string().default('.stagewise'),
  EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65535).default(54329),
  DB_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Largest JSON body accepted by /graphql. */
  GRAPHQL_BODY_LIMIT: z.string().default('2mb'),
  /** Largest NDJSON body accepted by the bulk import endpoints. */
  NDJSON_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(4 * 1024 * 1024 * 1024),
  /** Longest single NDJSON line (bytes, after gunzip): a longer one is refused with its number. */
  NDJSON_MAX_LINE_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(8 * 1024 * 1024),
  /** Largest JSON body a runner may post to /v1/runs/{id}/… (events, rollouts, traces). */
  RUNNER_BODY_LIMIT: z.string().default('8mb'),
  /** Deepest nesting of objects and arrays accepted in any JSON value (metadata, config...). */
  JSON_MAX_DEPTH: z.coerce.number().int().min(2).max(1000).default(64),
  /** Deepest bracket nesting in a GraphQL document, and of objects/lists in its variables. */
  GRAPHQL_MAX_NESTING: z.coerce.number().int().min(16).max(1000).default(128),
  MAX_QUERY_DEPTH: z.coerce.number().int().min(2).default(10),
  MAX_QUERY_COMPLEXITY: z.coerce.number().int().min(10).default(50_000),
  GRAPHQL_MAX_CONCURRENT_READS: z.coerce.number().int().min(1).max(1000).default(4),
  MAX_ALIASES: z.coerce.number().int().min(1).default(30),
  /** The URL runners use to reach this API; by default the address it listens on. */
  PUBLIC_URL: z.string().url().optional(),
  /** The Python that runs gpu_runner (Debian's, which sees Debian's torch). */
  RUNNER_PYTHON: z.string().default('/usr/bin/python3'),
  /** The gpu-runner folder (put on PYTHONPATH); by default the one in this repository. */
  RUNNER_DIR: z.string().optional(),
  /** Where runs keep their files (checkpoints, logs, event buffers); one folder per run. */
  RUNS_DIR: z.string().default('.stagewise/runs'),
  /** A live run silent for this long is checked with its launcher and failed if gone. */
  HEARTBEAT_TIMEOUT_SECONDS: z.coerce.number().int().min(5).default(30),
  /** How often ACTIVE curricula are checked and moved on (0: only by advanceCurriculum). */
  CURRICULUM_TICK_MS: z.coerce.number().int().min(0).default(1000),
  /**
   * On SIGTERM/SIGINT, how long answers in flight may take before the API closes their sockets
   * and exits anyway.
   */
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(10000),
  /** Between SIGTERM and SIGKILL when a run is cancelled. */
  CANCEL_GRACE_SECONDS: z.coerce.number().int().min(0).default(10),
  LOCAL_MAX_CONCURRENT_RUNS: z.coerce.number().int().min(1).default(1),
  SLURM_MAX_CONCURRENT_RUNS: z.coerce.number().int().min(1).default(4),
  KUBERNETES_MAX_CONCURRENT_RUNS: z.coerce.number().int().min(1).default(8),
  SLURM_PARTITION: z.string().optional(),
  /** The slurm.conf of the cluster runs go to (SLURM_CONF for sbatch etc.); Slurm's default when unset. */
  SLURM_CONF: z.string().optional(),
  KUBERNETES_NAMESPACE: z.string().default('default'),
  KUBERNETES_IMAGE: z.string().default('stagewise-runner:latest'),
  /** Live updates: Redis pub/sub across API processes; unset = Postgres LISTEN/NOTIFY. */
  REDIS_URL: z.string().url().optional(),
  /** When set, GET /metrics requires `Authorization: Bearer <METRICS_TOKEN>`; unset: open. */
  METRICS_TOKEN: z.string().min(16).optional(),
  /**
   * How long an API key's scopes are trusted without a database lookup. A revoke takes effect
   * at once regardless (every process is told); this only bounds a lost announcement. 0: off.
   */
  API_KEY_CACHE_TTL_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
  /** GET /readyz answers 503 when the database has not answered within this long. */
  READYZ_TIMEOUT_MS: z.coerce.number().int().min(100).default(2000),
  /** Webhook deliveries: attempts in all (the first and its retries) before FAILED. */
  WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
  /** Webhook retries wait this long, doubled after each failure (pg-boss retryBackoff). */
  WEBHOOK_RETRY_DELAY_SECONDS: z.coerce.number().int().min(1).default(10),
  /** A webhook receiver must answer within this long, or the attempt fails. */
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  /** Print the first local ADMIN key on an empty embedded database (never in production). */
  BOOTSTRAP_ADMIN_KEY: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
});

export type Config = z.infer<typeof schema> & { usesEmbeddedPostgres: boolean };

export class ConfigError extends Error {}

/** Parses `env` (process.env by default); a wrong variable is named in the error. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return { ...parsed.data, usesEmbeddedPostgres: parsed.data.DATABASE_URL === undefined };
}
