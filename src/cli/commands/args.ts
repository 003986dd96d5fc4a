/**
 * The command line of a `stagewise` command group: which subcommand runs, its options and its
 * positional arguments. Every mistake is a UsageError (exit 3), never a request to the API.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { type ApiClient, UsageError } from '../api-client';

type Options = NonNullable<ParseArgsConfig['options']>;

/** One subcommand: its arguments (after its name) in, the exit code out. */
export type Subcommand = (api: ApiClient, argv: string[]) => Promise<number>;

/** Runs the subcommand that `argv[0]` names on the rest of argv; anything else prints `usage`. */
export function runSubcommand(
  api: ApiClient,
  argv: string[],
  subcommands: Record<string, Subcommand>,
  usage: string,
): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || !Object.hasOwn(subcommands, sub)) throw new UsageError(usage);
  return subcommands[sub](api, rest);
}

/** node:util parseArgs, with its errors turned into usage errors that carry the usage text. */
export function parse<O extends Options>(argv: string[], options: O, usage: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${err instanceof Error ? err.message : String(err)}\n\n${usage}`);
  }
}

/** Refuses positional arguments; the message ends with `usage` when one is given. */
export function noPositionals(positionals: string[], usage?: string): void {
  if (positionals.length) {
    throw new UsageError(`unexpected argument ${positionals[0]}${usage ? `\n\n${usage}` : ''}`);
  }
}

/** The single id a subcommand such as `runs cancel ID` takes (`what`: run, curriculum). */
export function oneId(positionals: string[], command: string, what: string, usage: string): string {
  if (positionals.length !== 1) throw new UsageError(`${command} takes one ${what} id\n\n${usage}`);
  return positionals[0];
}

/** Refuses a command line that lacks any of `required` (option name -> value; falsy: missing). */
export function requireOptions(required: Record<string, unknown>, usage: string): void {
  const missing = Object.entries(required)
    .filter(([, value]) => !value)
    .map(([name]) => `--${name}`);
  if (missing.length) throw new UsageError(`${missing.join(', ')} required\n\n${usage}`);
}

export function intOption(value: string | undefined, name: string, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new UsageError(`--${name} must be an integer >= ${min} (got ${JSON.stringify(value)})`);
  }
  return n;
}

export function floatOption(
  value: string | undefined,
  name: string,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(
      `--${name} must be a number from ${min} to ${max} (got ${JSON.stringify(value)})`,
    );
  }
  return n;
}

/** An option that takes one of `allowed`, in any case; its value upper-cased. */
export function choiceOption(
  value: string | undefined,
  name: string,
  allowed: string[],
): string | undefined {
  const choice = value?.toUpperCase();
  if (choice !== undefined && !allowed.includes(choice)) {
    throw new UsageError(`--${name} must be one of ${allowed.join(', ')}`);
  }
  return choice;
}

const LAUNCHERS: Record<string, string> = {
  local: 'LOCAL',
  slurm: 'SLURM',
  kubernetes: 'KUBERNETES',
};

/** --launcher local|slurm|kubernetes, as the API's Launcher enum. */
export function launcherOption(value: string | undefined): string {
  const name = String(value).toLowerCase();
  if (!Object.hasOwn(LAUNCHERS, name)) {
    throw new UsageError('--launcher must be local, slurm or kubernetes');
  }
  return LAUNCHERS[name];
}

/** A repeatable option whose values may also be comma lists: ["a,b", "c"] -> [a, b, c]. */
export function listOption(values: string[] | undefined): string[] {
  return (values ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
}

export function jsonObjectOption(
  value: string | undefined,
  name: string,
): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    throw new UsageError(`--${name} is not valid JSON: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UsageError(`--${name} must be a JSON object, e.g. '{"steps": 30}'`);
  }
  return parsed as Record<string, unknown>;
}

/** --stage-configs: a JSON object of stage -> config object, e.g. {"SFT": {"steps": 150}}. */
export function stageConfigsOption(
  value: string | undefined,
): Record<string, Record<string, unknown>> | undefined {
  const stageConfigs = jsonObjectOption(value, 'stage-configs');
  for (const [stage, config] of Object.entries(stageConfigs ?? {})) {
    if (!config || typeof config !== 'object' || Array.isArray(config)) {
      throw new UsageError(
        `--stage-configs: ${stage} must be an object, e.g. {"SFT": {"steps": 150}}`,
      );
    }
  }
  return stageConfigs as Record<string, Record<string, unknown>> | undefined;
}
