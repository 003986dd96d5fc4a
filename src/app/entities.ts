import { ApiKey } from '../modules/api-keys/api-key.entity';
import { Checkpoint } from '../modules/checkpoints/checkpoint.entity';
import { Critique } from '../modules/critiques/critique.entity';
import { CurriculumDataset } from '../modules/curricula/curriculum-dataset.entity';
import { Curriculum } from '../modules/curricula/curriculum.entity';
import { CurriculumRound } from '../modules/curricula/curriculum-round.entity';
import { Dataset } from '../modules/datasets/dataset.entity';
import { Experiment } from '../modules/experiments/experiment.entity';
import { ExperimentRun } from '../modules/experiments/experiment-run.entity';
import { ExperimentCurriculum } from '../modules/experiments/experiment-curriculum.entity';
import { ManifestExclusion } from '../modules/manifests/manifest-exclusion.entity';
import { ManifestItem } from '../modules/manifests/manifest-item.entity';
import { Manifest } from '../modules/manifests/manifest.entity';
import { PassRate } from '../modules/mastery/pass-rate.entity';
import { RoutingPolicy } from '../modules/routing/routing-policy.entity';
import { StageAssignment } from '../modules/routing/stage-assignment.entity';
import { RunEvent } from '../modules/runs/run-event.entity';
import { Run } from '../modules/runs/run.entity';
import { Sample } from '../modules/samples/sample.entity';
import { Trace } from '../modules/traces/trace.entity';
import { Webhook } from '../modules/webhooks/webhook.entity';
import { WebhookDelivery } from '../modules/webhooks/webhook-delivery.entity';
import { ServerSetting } from '../common/db/server-setting.entity';

/** Every table TypeORM manages; migrations are generated from exactly this list. */
export const ENTITIES = [
  ApiKey,
  Checkpoint,
  Critique,
  Curriculum,
  CurriculumDataset,
  CurriculumRound,
  Dataset,
  Experiment,
  ExperimentRun,
  ExperimentCurriculum,
  Manifest,
  ManifestExclusion,
  ManifestItem,
  PassRate,
  RoutingPolicy,
  Run,
  RunEvent,
  Sample,
  StageAssignment,
  ServerSetting,
  Trace,
  Webhook,
  WebhookDelivery,
];
