/**
 * The containers, checked without a Docker engine (none runs on these machines): compose.yaml
 * through `docker-compose config` (Debian's docker-compose 1.29, installed by
 * scripts/setup-system.sh), the Dockerfiles through structural assertions (no maintained
 * Dockerfile linter installs from npm or Debian here).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { SERVER_NODE_FLAGS } from '../src/app/server-node-flags';

/** The repository: above the compiled tests (dist/tests), or the working directory. */
function repositoryRoot(): string {
  for (let dir = __dirname; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'docker', 'compose.yaml'))) return dir;
  }
  return process.cwd();
}

const ROOT = repositoryRoot();
const DOCKER = path.join(ROOT, 'docker');
const COMPOSE = path.join(DOCKER, 'compose.yaml');
const hasCompose = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0;
const NO_COMPOSE =
  !hasCompose && 'docker-compose is not installed (scripts/setup-system.sh installs it)';

interface Instruction {
  op: string;
  args: string;
}
type Stage = { from: string; name?: string; steps: Instruction[] };

/** A Dockerfile's instructions (continuations joined, comments dropped), grouped by stage. */
function stagesOf(file: string): Stage[] {
  const text = fs.readFileSync(path.join(DOCKER, file), 'utf8');
  const lines = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op, args] = /^(\S+)\s+(.*)$/.exec(line) ?? [];
    assert.ok(op, `${file}: cannot read "${line}"`);
    if (op.toUpperCase() === 'FROM') {
      const [, from, name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args) ?? [];
      stages.push({ from, name, steps: [] });
    } else {
      assert.ok(stages.length, `${file}: ${op} before FROM`);
      stages.at(-1)!.steps.push({ op: op.toUpperCase(), args });
    }
  }
  return stages;
}

const args = (stage: Stage, op: string) =>
  stage.steps.filter((s) => s.op === op).map((s) => s.args);

/** Every COPY from the build context names a path that exists in the repository. */
function assertCopySourcesExist(file: string, stages: Stage[]): void {
  for (const stage of stages) {
    for (const copy of args(stage, 'COPY')) {
      if (copy.startsWith('--from=')) continue;
      const parts = copy.split(/\s+/).filter((p) => !p.startsWith('--'));
      for (const source of parts.slice(0, -1)) {
        assert.ok(fs.existsSync(path.join(ROOT, source)), `${file}: COPY ${source}: no such path`);
      }
    }
  }
}

/** The final stage runs as a named non-root user. */
function assertNotRoot(file: string, stage: Stage): void {
  const user = args(stage, 'USER').at(-1);
  assert.ok(user, `${file}: the final stage sets no USER`);
  assert.doesNotMatch(user, /^(root|0)(:|$)/, `${file}: USER ${user}`);
}

function composeConfig(...extra: string[]): Record<string, any> {
  const yaml = execFileSync('docker-compose', ['-f', COMPOSE, ...extra, 'config'], {
    encoding: 'utf8',
    env: { ...process.env, POSTGRES_PASSWORD: '' },
  });
  // docker-compose is Python with PyYAML: read its normalised output with the same parser.
  const json = execFileSync(
    '/usr/bin/python3',
    ['-c', 'import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'],
    { input: yaml, encoding: 'utf8' },
  );
  return JSON.parse(json);
}

describe('containers', () => {
  it('the API image is multi-stage: npm ci + tsc to build, a production install to run, non-root, with a health check', () => {
    const stages = stagesOf('api.Dockerfile');
    assert.ok(stages.length >= 2, 'multi-stage');
    const [build, runtime] = [stages[0], stages.at(-1)!];
    assert.ok(build.name, 'the build stage is named');
    assert.ok(args(build, 'RUN').some((r) => /\bnpm ci\b/.test(r) && !/--omit=dev/.test(r)));
    assert.ok(args(build, 'RUN').some((r) => /\btsc\b/.test(r)));
    assert.ok(args(runtime, 'RUN').some((r) => /\bnpm ci\b.*--omit=dev/.test(r)));
    assert.ok(!args(runtime, 'RUN').some((r) => /\btsc\b/.test(r)), 'no compiler in the runtime');
    const fromBuild = args(runtime, 'COPY').filter((c) => c.startsWith(`--from=${build.name}`));
    assert.ok(
      fromBuild.some((c) => c.includes('dist/src')),
      'copies the compiled sources',
    );
    assert.ok(
      fromBuild.some((c) => c.includes('dist/migrations')),
      'copies the migrations',
    );
    assert.ok(args(runtime, 'COPY').some((c) => c.includes('gpu-runner/config.schema.json')));
    assertNotRoot('api.Dockerfile', runtime);
    assert.match(args(runtime, 'HEALTHCHECK').join(' '), /\/healthz/);
    const cmd = args(runtime, 'CMD').at(-1) ?? '';
    assert.match(cmd, /dist\/src\/main\.js/);
    // The image runs the API with the same Node flags as `npm start` (src/app/server-node-flags).
    assert.deepEqual(
      (JSON.parse(cmd) as string[]).slice(1, -1),
      [...SERVER_NODE_FLAGS],
      'the CMD passes SERVER_NODE_FLAGS',
    );
    assert.ok(fs.existsSync(path.join(ROOT, 'src', 'main.ts')));
    assertCopySourcesExist('api.Dockerfile', stages);
    // The build compiles what the image runs: the build tsconfig names existing folders.
    const tsconfig = JSON.parse(fs.readFileSync(path.join(DOCKER, 'tsconfig.build.json'), 'utf8'));
    for (const dir of tsconfig.include as string[]) {
      assert.ok(fs.existsSync(path.join(DOCKER, dir)), dir);
    }
  });

  it('the runner image is a CUDA PyTorch image with gpu-runner, run as `python -m gpu_runner`', () => {
    const stages = stagesOf('runner.Dockerfile');
    const runtime = stages.at(-1)!;
    assert.match(runtime.from, /^pytorch\/pytorch:2\.[\d.]+-cuda12\.[\d.]+-cudnn9-runtime$/);
    assert.ok(args(runtime, 'COPY').some((c) => c.startsWith('gpu-runner/gpu_runner ')));
    assert.deepEqual(JSON.parse(args(runtime, 'ENTRYPOINT').at(-1)!), [
      'python',
      '-m',
      'gpu_runner',
    ]);
    assertNotRoot('runner.Dockerfile', runtime);
    assertCopySourcesExist('runner.Dockerfile', stages);
  });

  it(
    'docker-compose config accepts compose.yaml: postgres with a volume, the API waiting for it healthy, Redis under a profile',
    { skip: NO_COMPOSE },
    () => {
      const config = composeConfig();
      assert.deepEqual(Object.keys(config.services).sort(), ['api', 'postgres', 'redis', 'runner']);
      const { postgres, api, redis } = config.services;
      assert.ok('pgdata' in config.volumes);
      assert.ok(postgres.volumes.some((v: any) => (v.source ?? String(v)).startsWith('pgdata')));
      assert.match(postgres.healthcheck.test.join(' '), /pg_isready/);
      assert.deepEqual(api.depends_on, { postgres: { condition: 'service_healthy' } });
      assert.match(
        api.environment.DATABASE_URL,
        /^postgres:\/\/stagewise:.*@postgres:5432\/stagewise$/,
      );
      assert.match(api.healthcheck.test.join(' '), /\/readyz/);
      assert.equal(api.build.dockerfile, 'docker/api.Dockerfile');
      assert.equal(api.build.context, ROOT);
      assert.deepEqual(redis.profiles, ['redis']);
      assert.match(redis.healthcheck.test.join(' '), /redis-cli ping/);
      assert.deepEqual(config.services.runner.profiles, ['runner']);

      const withRedis = spawnSync(
        'docker-compose',
        ['-f', COMPOSE, '--profile', 'redis', 'config', '--services'],
        {
          encoding: 'utf8',
        },
      );
      assert.equal(withRedis.status, 0, withRedis.stderr);
      assert.match(withRedis.stdout, /^redis$/m);
    },
  );
});
