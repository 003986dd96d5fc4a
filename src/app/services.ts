import type { DataSource } from 'typeorm';
import { ApiKeyService } from '../modules/api-keys/api-key.service';
import { CheckpointService } from '../modules/checkpoints/checkpoint.service';
import { CritiqueService } from '../modules/critiques/critique.service';
import { CurriculumService } from '../modules/curricula/curriculum.service';
import { ExperimentService } from '../modules/experiments/experiment.service';
import { DatasetService } from '../modules/datasets/dataset.service';
import { MasteryService } from '../modules/mastery/mastery.service';
import { RoutingService } from '../modules/routing/routing.service';
import { RunService } from '../modules/runs/run.service';
import { RunJournal } from '../modules/runs/run-journal';
import { ManifestService } from '../modules/manifests/manifest.service';
import { SampleService } from '../modules/samples/sample.service';
import { TraceService } from '../modules/traces/trace.service';
import { WebhookService } from '../modules/webhooks/webhook.service';
import type { Announcer } from '../common/pubsub/announcer';
import { offlineAnnouncements, type AnnouncementSource } from '../common/pubsub/bus';

/**
 * The process-wide services; stateless but for the pool they share. `live` is the announcement
 * bus (src/common/pubsub): writers call `announcer` after their commit, subscriptions listen on
 * `announcements`. Processes without live updates (CLI tools) leave it out.
 */
export function createServices(
  ds: DataSource,
  live: Announcer & AnnouncementSource = offlineAnnouncements,
  opts: { apiKeyCacheTtlMs?: number } = {},
) {
  return {
    announcer: live as Announcer,
    announcements: live as AnnouncementSource,
    apiKeys: new ApiKeyService(ds, live, { cacheTtlMs: opts.apiKeyCacheTtlMs ?? 0 }),
    checkpoints: new CheckpointService(),
    critiques: new CritiqueService(),
    curricula: new CurriculumService(),
    datasets: new DatasetService(),
    experiments: new ExperimentService(),
    mastery: new MasteryService(),
    routing: new RoutingService(),
    journal: new RunJournal(ds, live),
    manifests: new ManifestService(),
    runs: new RunService(),
    samples: new SampleService(),
    traces: new TraceService(),
    webhooks: new WebhookService(ds),
  };
}

export type Services = ReturnType<typeof createServices>;
