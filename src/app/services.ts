import type { DataSource } from 'typeorm';
import { ApiKeyService } from '../modules/api-keys/api-key.service';
import { CheckpointService } from '../modules/checkpoints/checkpoint.service';
import { CritiqueService } from '../modules/critiques/critique.service';
import { CurriculumService } from '../modules/curricula/curriculum.service';
import { DatasetService } from '../modules/datasets/dataset.service';
import { RoutingService } from '../modules/routing/routing.service';
import { RunService } from '../modules/runs/run.service';
import { SampleService } from '../modules/samples/sample.service';
import { TraceService } from '../modules/traces/trace.service';

/** The process-wide services; stateless but for the pool they share. */
export function createServices(ds: DataSource) {
  return {
    apiKeys: new ApiKeyService(ds),
    checkpoints: new CheckpointService(),
    critiques: new CritiqueService(),
    curricula: new CurriculumService(),
    datasets: new DatasetService(),
    routing: new RoutingService(),
    runs: new RunService(),
    samples: new SampleService(),
    traces: new TraceService(),
  };
}

export type Services = ReturnType<typeof createServices>;
