import path from 'node:path';
import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import type { Config } from './config';
import { createLauncher, type Launcher } from '../launchers';
import type { ApiKeyService } from '../modules/api-keys/api-key.service';
import { RunDispatcher } from '../modules/runs/run.dispatcher';
import type { RunJournal } from '../modules/runs/run-journal';
import { RunSupervisor } from '../modules/runs/run.supervisor';
import type { JobQueue } from '../common/db/job-queue';
import type { ContextFactory } from '../common/request-context';

/** The gpu-runner folder of this repository (dist/src/app -> repo root). */
const DEFAULT_RUNNER_DIR = path.resolve(__dirname, '..', '..', '..', 'gpu-runner');

/**
 * What launches and watches runs in an API process: the launchers, the supervisor (exits, logs,
 * heartbeats, reconciliation) and the dispatcher (the queue). Built with the services (the run
 * service enqueues on the dispatcher); started after the server listens, because runners need
 * its URL.
 */
export function createRunMachinery(
  deps: {
    config: Config;
    ds: DataSource;
    log: Logger;
    publicUrl: () => string;
  },
  services: {
    journal: RunJournal;
    apiKeys: ApiKeyService;
    queue: JobQueue;
    /** The context of a queue job or of the supervisor's work (SYSTEM). */
    contextFor: ContextFactory;
  },
) {
  const { config, ds, log, publicUrl } = deps;
  const launchers: Record<string, Launcher> = {
    local: createLauncher('local'),
    slurm: createLauncher('slurm', {
      partition: config.SLURM_PARTITION,
      slurmConf: config.SLURM_CONF,
    }),
    kubernetes: createLauncher('kubernetes', {
      image: config.KUBERNETES_IMAGE,
      namespace: config.KUBERNETES_NAMESPACE,
    }),
  };
  const supervisor = new RunSupervisor({
    ds,
    journal: services.journal,
    contextFor: services.contextFor,
    apiKeys: services.apiKeys,
    launchers,
    heartbeatTimeoutMs: config.HEARTBEAT_TIMEOUT_SECONDS * 1000,
    log,
  });
  const runnerDir = path.resolve(config.RUNNER_DIR ?? DEFAULT_RUNNER_DIR);
  const dispatcher = new RunDispatcher(
    {
      ds,
      journal: services.journal,
      contextFor: services.contextFor,
      apiKeys: services.apiKeys,
      supervisor,
      queue: services.queue,
      log,
    },
    {
      launchers,
      maxConcurrent: {
        local: config.LOCAL_MAX_CONCURRENT_RUNS,
        slurm: config.SLURM_MAX_CONCURRENT_RUNS,
        kubernetes: config.KUBERNETES_MAX_CONCURRENT_RUNS,
      },
      runnerCommand: [config.RUNNER_PYTHON, '-m', 'gpu_runner'],
      // One BLAS thread beside torch's two: they would otherwise fight over the cores.
      runnerEnv: { PYTHONPATH: runnerDir, OPENBLAS_NUM_THREADS: '1', PYTHONUNBUFFERED: '1' },
      runsDir: path.resolve(config.RUNS_DIR),
      cancelGraceMs: config.CANCEL_GRACE_SECONDS * 1000,
      publicUrl,
    },
  );
  return {
    dispatcher,
    async start() {
      await supervisor.reconcile();
      supervisor.start();
      await dispatcher.start();
    },
    async stop() {
      await dispatcher.close();
      await supervisor.stop();
      // Live runners keep running; this process only stops following their logs and exits.
      for (const launcher of Object.values(launchers)) await launcher.close?.();
    },
  };
}
