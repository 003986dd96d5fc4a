import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import type { Config } from './config';
import { createRunMachinery } from './run-machinery';
import { createJobQueue, stopJobQueue } from '../common/db/job-queue';
import type { CursorCodec } from '../common/pagination';
import type { Announcer } from '../common/pubsub/announcer';
import type { AnnouncementSource } from '../common/pubsub/bus';
import { createSystemContext, type ContextFactory } from '../common/request-context';
import { ApiKeyService } from '../modules/api-keys/api-key.service';
import { BridgeService } from '../modules/bridge/bridge.service';
import { BulkService } from '../modules/bulk/bulk.service';
import { CheckpointService } from '../modules/checkpoints/checkpoint.service';
import { CritiqueService } from '../modules/critiques/critique.service';
import { CurriculumService } from '../modules/curricula/curriculum.service';
import { CurriculumTicker } from '../modules/curricula/curriculum.ticker';
import { DatasetService } from '../modules/datasets/dataset.service';
import { ExperimentService } from '../modules/experiments/experiment.service';
import { MasteryService } from '../modules/mastery/mastery.service';
import { RoutingService } from '../modules/routing/routing.service';
import { RunService } from '../modules/runs/run.service';
import { RunJournal } from '../modules/runs/run-journal';
import { RunnerService } from '../modules/runs/runner.service';
import { ManifestService } from '../modules/manifests/manifest.service';
import { SampleService } from '../modules/samples/sample.service';
import { TraceService } from '../modules/traces/trace.service';
import { WebhookService } from '../modules/webhooks/webhook.service';
import { WebhookDispatcher } from '../modules/webhooks/webhook.dispatcher';

/** What the composition root builds the services from. */
export interface ServiceDeps {
  config: Config;
  ds: DataSource;
  /** The announcement bus (src/common/pubsub): writers announce after their commit. */
  live: Announcer & AnnouncementSource;
  cursors: CursorCodec;
  /** The database the run queue (pg-boss) lives in. */
  databaseUrl: string;
  log: Logger;
  /** The URL runners call back on; known once the server listens. */
  publicUrl: () => string;
}

/**
 * The composition root of the API process: every service, built once, with its collaborators
 * passed to its constructor (nothing else constructs them), and the background work that moves
 * runs, curricula and experiments on. Modules never import this file: dependencies point
 * app -> modules.
 */
export function createServices(deps: ServiceDeps) {
  const { config, ds, live } = deps;
  /** Contexts of the work the server does on its own (SYSTEM), each with its id in its log. */
  const systemContexts =
    (component: string): ContextFactory =>
    (id) =>
      createSystemContext(
        { ds, cursors: deps.cursors, announcements: live },
        { id, log: deps.log.child({ component, requestId: id }) },
      );
  const apiKeys = new ApiKeyService(ds, live, { cacheTtlMs: config.API_KEY_CACHE_TTL_MS });
  const journal = new RunJournal(live);
  const mastery = new MasteryService();
  const traces = new TraceService(mastery);
  const datasets = new DatasetService();
  const samples = new SampleService();
  const checkpoints = new CheckpointService();
  const critiques = new CritiqueService(traces);
  const routing = new RoutingService();
  const bridge = new BridgeService(traces);
  const manifests = new ManifestService(samples);
  // One job queue (pg-boss) for the process: the runs' dispatcher and the webhooks' share it.
  const queue = createJobQueue(deps.databaseUrl, deps.log.child({ component: 'queue' }));
  const machinery = createRunMachinery(deps, {
    journal,
    apiKeys,
    queue,
    contextFor: systemContexts('runs'),
  });
  const runs = new RunService({
    journal,
    manifests,
    announcer: live,
    dispatch: machinery.dispatcher,
  });
  const curricula = new CurriculumService({ runs, manifests, routing, bridge, announcer: live });
  // Runs know nothing of curricula: a retry is an event, and the curricula resume on it.
  runs.onRetry((tx, old, retry) => curricula.resumeAfterRetry(tx, old, retry));
  const experiments = new ExperimentService({ runs, manifests, curricula, announcer: live });
  const ticker = new CurriculumTicker(
    curricula,
    systemContexts('curricula'),
    config.CURRICULUM_TICK_MS,
    // Experiments ride the same poll: their runs end the same way and need the same care.
    [experiments],
  );
  const webhookDispatcher = new WebhookDispatcher(
    {
      ds,
      queue,
      announcements: live,
      log: deps.log.child({ component: 'webhooks' }),
      contextFor: systemContexts('webhooks'),
    },
    {
      maxAttempts: config.WEBHOOK_MAX_ATTEMPTS,
      retryDelaySeconds: config.WEBHOOK_RETRY_DELAY_SECONDS,
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    },
  );
  return {
    announcer: live as Announcer,
    announcements: live as AnnouncementSource,
    apiKeys,
    bridge,
    bulk: new BulkService(datasets, samples, traces),
    checkpoints,
    critiques,
    curricula,
    datasets,
    experiments,
    mastery,
    routing,
    journal,
    manifests,
    runs,
    runner: new RunnerService(journal, checkpoints, traces, critiques),
    samples,
    traces,
    webhooks: new WebhookService(ds),
    /**
     * Launching and watching runs, the curriculum ticker and webhook deliveries: started once the
     * server listens.
     */
    background: {
      async start() {
        await queue.start();
        await machinery.start();
        ticker.start();
        await webhookDispatcher.start();
      },
      async stop() {
        await ticker.stop();
        await machinery.stop();
        await webhookDispatcher.close();
        await stopJobQueue(queue);
      },
    },
  };
}

export type Services = ReturnType<typeof createServices>;
