import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  KubernetesLauncher,
  buildJob,
  buildTokenSecret,
  jobState,
  ownedByJob,
  parseKubernetesExternalId,
} from '../src/launchers/kubernetes.launcher';
import type { LaunchRequest } from '../src/launchers/launcher';

const request: LaunchRequest = {
  runId: 42,
  runGlobalId: 'UnVuOjQy',
  env: {
    STAGEWISE_API_URL: 'http://api:4000',
    STAGEWISE_RUN_ID: 'UnVuOjQy',
    STAGEWISE_RUN_TOKEN: 'sw_runner_secret',
    STAGEWISE_WORK_DIR: '/work/runs/42',
  },
  command: ['/usr/bin/python3', '-m', 'gpu_runner'],
  workDir: '/work/runs/42',
};

describe('kubernetes launcher (no cluster here: the Job object and the state mapping only)', () => {
  it('builds the batch/v1 Job it would submit (no cluster here)', () => {
    const job = buildJob(
      request,
      {
        image: 'registry.local/stagewise-runner:1.0',
        namespace: 'training',
        gpus: 2,
        cpu: '8',
        memory: '32Gi',
        ttlSecondsAfterFinished: 600,
        imagePullSecrets: ['regcred'],
        volumes: [{ name: 'work', persistentVolumeClaim: { claimName: 'stagewise-work' } }],
        volumeMounts: [{ name: 'work', mountPath: '/work/runs' }],
      },
      'stagewise-run-42-token-x7k2p',
    );
    assert.equal(job.apiVersion, 'batch/v1');
    assert.equal(job.kind, 'Job');
    assert.equal(job.metadata!.generateName, 'stagewise-run-42-');
    assert.equal(job.metadata!.namespace, 'training');
    const labels = { app: 'stagewise', 'stagewise/run-id': '42' };
    assert.deepEqual(job.metadata!.labels, labels);
    assert.deepEqual(job.metadata!.annotations, { 'stagewise/run-global-id': 'UnVuOjQy' });
    assert.equal(job.spec!.backoffLimit, 0);
    assert.equal(job.spec!.ttlSecondsAfterFinished, 600);
    const pod = job.spec!.template;
    assert.deepEqual(pod.metadata!.labels, labels);
    assert.equal(pod.spec!.restartPolicy, 'Never');
    assert.deepEqual(pod.spec!.imagePullSecrets, [{ name: 'regcred' }]);
    assert.deepEqual(pod.spec!.volumes, [
      { name: 'work', persistentVolumeClaim: { claimName: 'stagewise-work' } },
    ]);
    assert.equal(pod.spec!.containers.length, 1);
    const [c] = pod.spec!.containers;
    assert.equal(c.name, 'runner');
    assert.equal(c.image, 'registry.local/stagewise-runner:1.0');
    assert.deepEqual(c.command, ['/usr/bin/python3', '-m', 'gpu_runner']);
    assert.equal(c.workingDir, '/work/runs/42');
    assert.deepEqual(c.env, [
      { name: 'STAGEWISE_API_URL', value: 'http://api:4000' },
      { name: 'STAGEWISE_RUN_ID', value: 'UnVuOjQy' },
      {
        name: 'STAGEWISE_RUN_TOKEN',
        valueFrom: { secretKeyRef: { name: 'stagewise-run-42-token-x7k2p', key: 'token' } },
      },
      { name: 'STAGEWISE_WORK_DIR', value: '/work/runs/42' },
    ]);
    assert.deepEqual(c.resources, {
      limits: { 'nvidia.com/gpu': '2', cpu: '8', memory: '32Gi' },
      requests: { cpu: '8', memory: '32Gi' },
    });
    assert.deepEqual(c.volumeMounts, [{ name: 'work', mountPath: '/work/runs' }]);
    // A plain JSON object: what the API server receives.
    assert.deepEqual(JSON.parse(JSON.stringify(job)), job);
  });

  it('defaults to one GPU, the default namespace and a day of TTL; gpus: 0 asks for none (no cluster here)', () => {
    const job = buildJob(request, { image: 'runner:latest' }, 'token-secret');
    assert.equal(job.metadata!.namespace, 'default');
    assert.equal(job.spec!.ttlSecondsAfterFinished, 86400);
    assert.deepEqual(job.spec!.template.spec!.containers[0].resources, {
      limits: { 'nvidia.com/gpu': '1' },
    });
    const cpuOnly = buildJob(request, { image: 'runner:latest', gpus: 0 }, 'token-secret');
    assert.deepEqual(cpuOnly.spec!.template.spec!.containers[0].resources, { limits: {} });
    assert.throws(() => buildJob(request, { image: '' }), /image is required/);
    assert.throws(() => new KubernetesLauncher({ image: '' }), /image is required/);
  });

  it('puts the runner token in a Secret the Job reads through secretKeyRef, never as a literal in the Job spec (no cluster here)', () => {
    const options = { image: 'runner:1', namespace: 'training' };
    const secret = buildTokenSecret(request, options)!;
    assert.equal(secret.kind, 'Secret');
    assert.equal(secret.metadata!.generateName, 'stagewise-run-42-token-');
    assert.equal(secret.metadata!.namespace, 'training');
    assert.deepEqual(secret.metadata!.labels, { app: 'stagewise', 'stagewise/run-id': '42' });
    assert.deepEqual(secret.stringData, { token: 'sw_runner_secret' });

    const job = buildJob(request, options, 'stagewise-run-42-token-abcde');
    // The whole object as the API server (and its audit log) would receive it.
    assert.ok(!JSON.stringify(job).includes('sw_runner_secret'), 'no token in the Job spec');
    const env = job.spec!.template.spec!.containers[0].env!;
    assert.deepEqual(
      env.find((e) => e.name === 'STAGEWISE_RUN_TOKEN'),
      {
        name: 'STAGEWISE_RUN_TOKEN',
        valueFrom: { secretKeyRef: { name: 'stagewise-run-42-token-abcde', key: 'token' } },
      },
    );
    // A token with no Secret to hold it is refused rather than written in clear.
    assert.throws(() => buildJob(request, options), /must come from a Secret/);
    const { STAGEWISE_RUN_TOKEN: _token, ...env2 } = request.env;
    assert.equal(buildTokenSecret({ ...request, env: env2 }, options), undefined);
    assert.doesNotThrow(() => buildJob({ ...request, env: env2 }, options));

    // Owned by the Job: the cluster deletes it with the Job (cancel, or the TTL after it ends).
    const owned = ownedByJob(
      { ...secret, metadata: { ...secret.metadata, name: 'stagewise-run-42-token-abcde' } },
      { metadata: { name: 'stagewise-run-42-q9z8w', uid: '6f1c-uid' } },
    );
    assert.equal(owned.metadata!.name, 'stagewise-run-42-token-abcde');
    assert.deepEqual(owned.metadata!.ownerReferences, [
      {
        apiVersion: 'batch/v1',
        kind: 'Job',
        name: 'stagewise-run-42-q9z8w',
        uid: '6f1c-uid',
      },
    ]);
  });

  it("maps a Job's status to the launcher's states (no cluster here)", () => {
    assert.deepEqual(jobState({}), { state: 'PENDING' });
    assert.deepEqual(jobState({ status: { active: 1 } }), { state: 'PENDING' });
    assert.deepEqual(jobState({ status: { active: 1 } }, { status: { phase: 'Running' } }), {
      state: 'RUNNING',
    });
    assert.deepEqual(jobState({ status: { active: 1, ready: 1 } }), { state: 'RUNNING' });
    assert.deepEqual(
      jobState({
        status: { succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] },
      }),
      { state: 'EXITED', exitCode: 0, signal: null, reason: 'Complete' },
    );
    const failed = jobState(
      {
        status: {
          failed: 1,
          conditions: [
            {
              type: 'Failed',
              status: 'True',
              reason: 'BackoffLimitExceeded',
              message: 'Job has reached the specified backoff limit',
            },
          ],
        },
      },
      {
        status: {
          containerStatuses: [
            {
              name: 'runner',
              image: 'x',
              imageID: 'x',
              ready: false,
              restartCount: 0,
              state: { terminated: { exitCode: 3, reason: 'Error' } },
            },
          ],
        },
      },
    );
    assert.equal(failed.state, 'EXITED');
    assert.equal(failed.state === 'EXITED' && failed.exitCode, 3);
    assert.match(failed.state === 'EXITED' ? failed.reason! : '', /BackoffLimitExceeded/);
  });

  it('reads namespace/name job ids (no cluster here)', () => {
    assert.deepEqual(parseKubernetesExternalId('training/stagewise-run-42-abcde'), {
      namespace: 'training',
      name: 'stagewise-run-42-abcde',
    });
    assert.deepEqual(parseKubernetesExternalId('stagewise-run-42-abcde'), {
      namespace: 'default',
      name: 'stagewise-run-42-abcde',
    });
  });

  it('loads the ESM client and answers UNKNOWN, not a throw, when the API server cannot be reached (no cluster here)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stagewise-kube-'));
    try {
      const kubeconfigPath = path.join(dir, 'config');
      fs.writeFileSync(
        kubeconfigPath,
        [
          'apiVersion: v1',
          'kind: Config',
          'clusters: [{ name: none, cluster: { server: "http://127.0.0.1:9" } }]',
          'users: [{ name: u, user: { token: t } }]',
          'contexts: [{ name: c, context: { cluster: none, user: u } }]',
          'current-context: c',
        ].join('\n'),
      );
      const launcher = new KubernetesLauncher({ image: 'runner:1', kubeconfigPath });
      assert.deepEqual(await launcher.status('default/stagewise-run-1-abcde'), {
        state: 'UNKNOWN',
      });
      await assert.rejects(launcher.launch(request, {}));
      await launcher.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
