/**
 * Runs the runner as a Kubernetes batch/v1 Job: one pod, never restarted (backoffLimit 0,
 * restartPolicy Never), labelled app=stagewise and stagewise/run-id, cleaned up by the cluster
 * ttlSecondsAfterFinished after it ends. The job's id is `namespace/name`; its state comes from
 * the Job's status (and the pod's exit code); cancel deletes the Job (propagationPolicy
 * Background) and its pods with the grace period.
 *
 * The runner's token is never a literal in the Job spec (anyone who may read Jobs, or their
 * audit log, would see it): the launcher first creates a Secret holding it, the Job's container
 * takes it through `secretKeyRef`, and the Secret is then owned by the Job, so the cluster's
 * garbage collector deletes it with the Job (cancel, or ttlSecondsAfterFinished). The API's
 * service account needs create/update/delete on Secrets in the namespace besides Jobs and Pods.
 *
 * `@kubernetes/client-node` is ESM-only: it is
 * loaded with `await import()` on first use, so nothing of it loads for the other launchers.
 */
import type {
  BatchV1Api,
  CoreV1Api,
  V1EnvVar,
  V1Job,
  V1Pod,
  V1Secret,
  V1Toleration,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node' with { 'resolution-mode': 'import' };
import {
  RUN_TOKEN_ENV,
  type JobState,
  type LaunchedJob,
  type Launcher,
  type LauncherHooks,
  type LaunchRequest,
} from './launcher';

export interface KubernetesLauncherOptions {
  /** The runner's container image (required). */
  image: string;
  /** Namespace of the Jobs (default 'default'). */
  namespace?: string;
  /** `resources.limits['nvidia.com/gpu']` (default 1; 0 leaves it out). */
  gpus?: number;
  /** CPU and memory, set as both request and limit, e.g. '4' and '16Gi'. */
  cpu?: string;
  memory?: string;
  /** Seconds the cluster keeps a finished Job (and its pod and logs) before deleting it (default 86400). */
  ttlSecondsAfterFinished?: number;
  /** Wall-clock limit of the Job in seconds (none by default). */
  activeDeadlineSeconds?: number;
  /** The pod's grace period between SIGTERM and SIGKILL when not cancelled by us (default 30). */
  terminationGracePeriodSeconds?: number;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  imagePullSecrets?: string[];
  serviceAccountName?: string;
  nodeSelector?: Record<string, string>;
  tolerations?: V1Toleration[];
  /** Storage for the work dir and checkpoints, e.g. a PersistentVolumeClaim mounted at the work root. */
  volumes?: V1Volume[];
  volumeMounts?: V1VolumeMount[];
  /** More labels for the Job and its pod. */
  labels?: Record<string, string>;
  /** A kubeconfig file; otherwise the default (KUBECONFIG, ~/.kube/config, or in-cluster). */
  kubeconfigPath?: string;
  /** A context of the kubeconfig other than its current one. */
  context?: string;
  /** How often a launched Job is polled for onExit (default 5000 ms). */
  pollMs?: number;
}

export const RUNNER_CONTAINER = 'runner';
/** The key of the runner token in its Secret. */
export const TOKEN_SECRET_KEY = 'token';

function runLabels(request: LaunchRequest, options: KubernetesLauncherOptions) {
  return { ...options.labels, app: 'stagewise', 'stagewise/run-id': String(request.runId) };
}

/** The Secret that holds a request's runner token (a pure function; undefined: no token). */
export function buildTokenSecret(
  request: LaunchRequest,
  options: KubernetesLauncherOptions,
): V1Secret | undefined {
  const token = request.env[RUN_TOKEN_ENV];
  if (token === undefined) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      generateName: `stagewise-run-${request.runId}-token-`,
      namespace: options.namespace ?? 'default',
      labels: runLabels(request, options),
    },
    type: 'Opaque',
    stringData: { [TOKEN_SECRET_KEY]: token },
  };
}

/** The Secret, owned by its Job: deleted by the cluster when the Job is. */
export function ownedByJob(secret: V1Secret, job: V1Job): V1Secret {
  return {
    ...secret,
    metadata: {
      ...secret.metadata,
      ownerReferences: [
        {
          apiVersion: 'batch/v1',
          kind: 'Job',
          name: job.metadata!.name!,
          uid: job.metadata!.uid!,
          // No blockOwnerDeletion: it would need update rights on jobs/finalizers as well, and a
          // Job deleted in the background has no use for its Secret waiting first.
        },
      ],
    },
  };
}

/** The container's env: every value literal but the runner token, which comes from its Secret. */
function containerEnv(request: LaunchRequest, tokenSecretName: string | undefined): V1EnvVar[] {
  return Object.entries(request.env).map(([name, value]) => {
    if (name !== RUN_TOKEN_ENV) return { name, value };
    if (!tokenSecretName) {
      throw new Error('kubernetes launcher: the runner token must come from a Secret');
    }
    return { name, valueFrom: { secretKeyRef: { name: tokenSecretName, key: TOKEN_SECRET_KEY } } };
  });
}

/**
 * The batch/v1 Job that runs a request (a pure function: no cluster involved). A request with a
 * runner token needs the name of the Secret that holds it (see buildTokenSecret).
 */
export function buildJob(
  request: LaunchRequest,
  options: KubernetesLauncherOptions,
  tokenSecretName?: string,
): V1Job {
  if (!options.image) throw new Error('kubernetes launcher: options.image is required');
  if (!request.command.length) throw new Error('launch: empty command');
  const labels = runLabels(request, options);
  const limits: Record<string, string> = {};
  const requests: Record<string, string> = {};
  const gpus = options.gpus ?? 1;
  if (gpus > 0) limits['nvidia.com/gpu'] = String(gpus);
  if (options.cpu) limits.cpu = requests.cpu = options.cpu;
  if (options.memory) limits.memory = requests.memory = options.memory;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      // The server appends a random suffix: a run relaunched (a new attempt) gets a new Job.
      generateName: `stagewise-run-${request.runId}-`,
      namespace: options.namespace ?? 'default',
      labels,
      annotations: { 'stagewise/run-global-id': request.runGlobalId },
    },
    spec: {
      backoffLimit: 0,
      ttlSecondsAfterFinished: options.ttlSecondsAfterFinished ?? 86400,
      ...(options.activeDeadlineSeconds !== undefined && {
        activeDeadlineSeconds: options.activeDeadlineSeconds,
      }),
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          terminationGracePeriodSeconds: options.terminationGracePeriodSeconds ?? 30,
          ...(options.serviceAccountName && { serviceAccountName: options.serviceAccountName }),
          ...(options.nodeSelector && { nodeSelector: options.nodeSelector }),
          ...(options.tolerations && { tolerations: options.tolerations }),
          ...(options.imagePullSecrets && {
            imagePullSecrets: options.imagePullSecrets.map((name) => ({ name })),
          }),
          ...(options.volumes && { volumes: options.volumes }),
          containers: [
            {
              name: RUNNER_CONTAINER,
              image: options.image,
              ...(options.imagePullPolicy && { imagePullPolicy: options.imagePullPolicy }),
              command: request.command,
              workingDir: request.workDir,
              env: containerEnv(request, tokenSecretName),
              resources: {
                limits,
                ...(Object.keys(requests).length && { requests }),
              },
              ...(options.volumeMounts && { volumeMounts: options.volumeMounts }),
            },
          ],
        },
      },
    },
  };
}

/** The state a Job's status (and its pod, when known) tells. */
export function jobState(job: V1Job, pod?: V1Pod): JobState {
  const status = job.status ?? {};
  const condition = (type: string) =>
    status.conditions?.find((c) => c.type === type && c.status === 'True');
  const terminated = pod?.status?.containerStatuses?.find((c) => c.name === RUNNER_CONTAINER)?.state
    ?.terminated;
  const complete = condition('Complete');
  const failed = condition('Failed');
  if (complete || failed || (status.succeeded ?? 0) > 0 || (status.failed ?? 0) > 0) {
    const ok = !!complete || (!failed && (status.succeeded ?? 0) > 0);
    const why = failed ? [failed.reason, failed.message].filter(Boolean).join(': ') : undefined;
    return {
      state: 'EXITED',
      exitCode: terminated ? terminated.exitCode : ok ? 0 : null,
      signal: terminated?.signal ? `SIG${terminated.signal}` : null,
      reason: ok
        ? 'Complete'
        : `Failed${why ? ` (${why})` : ''}${terminated?.reason ? `; container ${terminated.reason}` : ''}`,
    };
  }
  if ((status.ready ?? 0) > 0) return { state: 'RUNNING' };
  if ((status.active ?? 0) > 0) {
    return pod?.status?.phase === 'Running' ? { state: 'RUNNING' } : { state: 'PENDING' };
  }
  return { state: 'PENDING' };
}

export function parseKubernetesExternalId(externalId: string): { namespace: string; name: string } {
  const [namespace, name] = externalId.includes('/')
    ? externalId.split('/', 2)
    : ['default', externalId];
  return { namespace, name };
}

function httpCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

interface Clients {
  batch: BatchV1Api;
  core: CoreV1Api;
}

export class KubernetesLauncher implements Launcher {
  readonly name = 'kubernetes';
  private clients?: Promise<Clients>;
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly options: KubernetesLauncherOptions) {
    if (!options?.image) throw new Error('kubernetes launcher: options.image is required');
  }

  private api(): Promise<Clients> {
    this.clients ??= import('@kubernetes/client-node').then((k8s) => {
      const kc = new k8s.KubeConfig();
      if (this.options.kubeconfigPath) kc.loadFromFile(this.options.kubeconfigPath);
      else kc.loadFromDefault();
      if (this.options.context) kc.setCurrentContext(this.options.context);
      return { batch: kc.makeApiClient(k8s.BatchV1Api), core: kc.makeApiClient(k8s.CoreV1Api) };
    });
    return this.clients;
  }

  async launch(request: LaunchRequest, hooks: LauncherHooks): Promise<LaunchedJob> {
    if (!request.command.length) throw new Error('launch: empty command');
    const namespace = this.options.namespace ?? 'default';
    const { batch, core } = await this.api();
    const secretBody = buildTokenSecret(request, this.options);
    const secret = secretBody
      ? await core.createNamespacedSecret({ namespace, body: secretBody })
      : undefined;
    const secretName = secret?.metadata?.name;
    let job: V1Job | undefined;
    try {
      job = await batch.createNamespacedJob({
        namespace,
        body: buildJob(request, this.options, secretName),
      });
      if (secret && secretName) {
        await core.replaceNamespacedSecret({
          name: secretName,
          namespace,
          body: ownedByJob(secret, job),
        });
      }
    } catch (err) {
      // A Secret that no Job owns would outlive the run: take back what was created.
      if (job?.metadata?.name) {
        await batch
          .deleteNamespacedJob({
            name: job.metadata.name,
            namespace,
            propagationPolicy: 'Background',
          })
          .catch(() => undefined);
      }
      if (secretName) {
        await core.deleteNamespacedSecret({ name: secretName, namespace }).catch(() => undefined);
      }
      throw err;
    }
    const externalId = `${namespace}/${job.metadata!.name!}`;
    this.follow(externalId, request.runId, hooks);
    return { externalId };
  }

  /** Polls the Job until it ends, then calls onExit once. Logs are left to the cluster. */
  private follow(externalId: string, runId: number, hooks: LauncherHooks) {
    const tick = () => {
      if (this.closed) return;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.status(externalId).then(
          (state) => {
            if (state.state === 'EXITED') hooks.onExit?.(runId, state);
            else tick();
          },
          () => tick(),
        );
      }, this.options.pollMs ?? 5000);
      this.timers.add(timer);
    };
    tick();
  }

  async status(externalId: string): Promise<JobState> {
    const { namespace, name } = parseKubernetesExternalId(externalId);
    try {
      const { batch, core } = await this.api();
      const job = await batch.readNamespacedJobStatus({ name, namespace });
      const pods = await core
        .listNamespacedPod({ namespace, labelSelector: `job-name=${name}` })
        .catch(() => undefined);
      return jobState(job, pods?.items[0]);
    } catch (err) {
      if (httpCode(err) === 404) {
        return {
          state: 'EXITED',
          exitCode: null,
          signal: null,
          reason: `Job ${externalId} not found (deleted, or removed after ttlSecondsAfterFinished)`,
        };
      }
      return { state: 'UNKNOWN' };
    }
  }

  async cancel(externalId: string, graceMs: number): Promise<void> {
    const { namespace, name } = parseKubernetesExternalId(externalId);
    const gracePeriodSeconds = Math.max(0, Math.ceil(graceMs / 1000));
    const { batch, core } = await this.api();
    try {
      await batch.deleteNamespacedJob({
        name,
        namespace,
        propagationPolicy: 'Background',
        gracePeriodSeconds,
      });
    } catch (err) {
      if (httpCode(err) !== 404) throw err;
    }
    // Background propagation deletes the pods with their own grace period; delete them now
    // with ours, so SIGKILL comes after `graceMs`.
    await core
      .deleteCollectionNamespacedPod({
        namespace,
        labelSelector: `job-name=${name}`,
        gracePeriodSeconds,
      })
      .catch(() => undefined);
  }

  /** Stops polling (the Jobs keep running). */
  close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    return Promise.resolve();
  }
}
