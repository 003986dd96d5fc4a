import fs from 'node:fs';
import path from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { badInput } from '../../common/errors';
import { RunStage } from './run.entity';

/**
 * The stage configs, one typed config per stage, as the runner defines them: gpu-runner writes
 * its config dataclasses out as JSON Schema (`python3 -m gpu_runner.config --schema`, committed
 * as gpu-runner/config.schema.json; a test keeps the two equal). The API refuses what the runner
 * would refuse, naming every wrong field at once. Cross-field rules (x-rules) are the runner's.
 */
const SCHEMA_FILE = path.resolve(
  __dirname,
  '..',
  '..',
  '..',
  '..',
  'gpu-runner',
  'config.schema.json',
);

interface StageSchemas {
  stages: Record<string, object>;
}

let validators: Map<string, ValidateFunction> | undefined;

function validatorFor(stage: RunStage): ValidateFunction | undefined {
  if (!validators) {
    const schemas = JSON.parse(fs.readFileSync(SCHEMA_FILE, 'utf8')) as StageSchemas;
    const ajv = new Ajv({ allErrors: true, strict: false, useDefaults: false });
    validators = new Map(
      Object.entries(schemas.stages).map(([s, schema]) => [s, ajv.compile(schema)]),
    );
  }
  return validators.get(stage);
}

function describe(error: ErrorObject): string {
  const field = `config${error.instancePath.replace(/\//g, '.')}`;
  if (error.keyword === 'additionalProperties') {
    return `${field}: unknown field "${String(error.params.additionalProperty)}"`;
  }
  if (error.keyword === 'enum') {
    return `${field}: must be one of ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return `${field}: ${error.message ?? 'is invalid'}`;
}

/** The config as given, once valid for its stage; BAD_USER_INPUT names every wrong field. */
export function validateStageConfig(
  stage: RunStage,
  config: Record<string, unknown>,
): Record<string, unknown> {
  const validate = validatorFor(stage);
  if (!validate) {
    throw badInput(`${stage} runs are not supported by this runner yet`, { stage });
  }
  if (validate(config)) return config;
  const problems = (validate.errors ?? []).map(describe);
  throw badInput(`Invalid ${stage} config: ${problems.join('; ')}`, { problems });
}
