/**
 * `stagewise policies ...`: create routing policy versions, list them, and preview what a policy
 * would do to a checkpoint's pass rates (counts per stage, moves against a curriculum round).
 */
import { ApiClient, UsageError } from '../api-client';
import { EXIT } from './shared';
import {
  choiceOption,
  floatOption,
  intOption,
  jsonObjectOption,
  listOption,
  noPositionals,
  parse,
  requireOptions,
  runSubcommand,
} from './args';
import { dateTime, formatNumber, printJson, printList, table } from './output';
import { fetchAllPages } from './pages';
import { resolveDatasetIds } from './datasets';

export const POLICIES_USAGE = `Usage:
  stagewise policies create --name NAME [--k 8] [--temperature 1] [--tau-low 0] [--tau-high 1]
                            [--min-attempts 8] [--replay 0.05] [--bridge SELECT|HINT|REWRITE|NONE]
                            [--bridge-options JSON] [--seed 0] [--json]
  stagewise policies list [--name NAME] [--json]
  stagewise policies preview --policy ID --checkpoint ID --dataset NAME_OR_ID [--dataset ...]
                             [--curriculum ID --round N] [--json]

policies create prints the new policy's id on stdout (an existing name gets its next version;
policies are never edited). p <= tau-low goes to SFT, tau-low < p < tau-high to RL, p >= tau-high
is mastered (dropped, but for the --replay share that joins SFT); fewer than --min-attempts
graded attempts: not routed. policies preview writes nothing: it counts the samples of the
datasets per stage under the checkpoint's pass rates and, with --curriculum and --round, the
moves against that round's current assignments. --dataset repeats, or takes a comma list.`;

const BRIDGES = ['SELECT', 'HINT', 'REWRITE', 'NONE'];
/** The order stages are shown in, whatever order the API answers in. */
export const STAGE_ORDER = ['SFT', 'RL', 'CRITIQUE', 'REPLAY', 'DROPPED'];

const POLICY_FIELDS = `id name version k temperature tauLow tauHigh minAttempts replayFraction
  bridgeStrategy bridgeOptions seed createdAt`;

export interface PolicyInfo {
  id: string;
  name: string;
  version: number;
  k: number;
  temperature: number;
  tauLow: number;
  tauHigh: number;
  minAttempts: number;
  replayFraction: number;
  bridgeStrategy: string;
  bridgeOptions: Record<string, unknown>;
  seed: number;
  createdAt: string;
}

function pct(v: number): string {
  return `${+(v * 100).toFixed(1)}%`;
}

// ---------------------------------------------------------------------------------------------

async function create(api: ApiClient, argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      name: { type: 'string' },
      k: { type: 'string' },
      temperature: { type: 'string' },
      'tau-low': { type: 'string' },
      'tau-high': { type: 'string' },
      'min-attempts': { type: 'string' },
      replay: { type: 'string' },
      bridge: { type: 'string' },
      'bridge-options': { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    POLICIES_USAGE,
  );
  noPositionals(positionals, POLICIES_USAGE);
  if (!values.name) throw new UsageError(`--name is required\n\n${POLICIES_USAGE}`);
  const bridge = choiceOption(values.bridge, 'bridge', BRIDGES);
  const input = Object.fromEntries(
    Object.entries({
      name: values.name,
      k: intOption(values.k, 'k', 1),
      temperature: floatOption(values.temperature, 'temperature', 0, 5),
      tauLow: floatOption(values['tau-low'], 'tau-low', 0, 1),
      tauHigh: floatOption(values['tau-high'], 'tau-high', 0, 1),
      minAttempts: intOption(values['min-attempts'], 'min-attempts', 1),
      replayFraction: floatOption(values.replay, 'replay', 0, 1),
      bridgeStrategy: bridge,
      bridgeOptions: jsonObjectOption(values['bridge-options'], 'bridge-options'),
      seed: intOption(values.seed, 'seed', 0),
    }).filter(([, v]) => v !== undefined),
  );
  const { createRoutingPolicy: p } = await api.graphql<{ createRoutingPolicy: PolicyInfo }>(
    `mutation($input: CreateRoutingPolicyInput!) {
      createRoutingPolicy(input: $input) { ${POLICY_FIELDS} }
    }`,
    { input },
  );
  if (values.json) return printJson(p);
  console.error(
    `Created routing policy ${p.name} v${p.version}: k=${p.k} temperature=${p.temperature} ` +
      `tau ${p.tauLow}..${p.tauHigh} minAttempts=${p.minAttempts} replay=${p.replayFraction} ` +
      `bridge=${p.bridgeStrategy} seed=${p.seed}`,
  );
  console.log(p.id);
  return EXIT.OK;
}

async function list(api: ApiClient, argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { name: { type: 'string' }, json: { type: 'boolean', default: false } },
    POLICIES_USAGE,
  );
  noPositionals(positionals, POLICIES_USAGE);
  const policies = await fetchAllPages<PolicyInfo>(
    api,
    'routingPolicies',
    // Without --name, no name argument at all: an explicit null would filter on name = null.
    values.name === undefined
      ? `query($after: String) {
          routingPolicies(first: 100, after: $after) {
            nodes { ${POLICY_FIELDS} } pageInfo { hasNextPage endCursor }
          }
        }`
      : `query($name: String!, $after: String) {
          routingPolicies(first: 100, name: $name, after: $after) {
            nodes { ${POLICY_FIELDS} } pageInfo { hasNextPage endCursor }
          }
        }`,
    values.name === undefined ? {} : { name: values.name },
  );
  return printList(policies, {
    json: values.json,
    empty: 'No routing policies.',
    headers: [
      'ID',
      'NAME',
      'VERSION',
      'K',
      'TEMP',
      'TAU_LOW',
      'TAU_HIGH',
      'MIN_ATT',
      'REPLAY',
      'BRIDGE',
      'SEED',
      'CREATED',
    ],
    row: (p) => [
      p.id,
      p.name,
      `v${p.version}`,
      String(p.k),
      String(p.temperature),
      String(p.tauLow),
      String(p.tauHigh),
      String(p.minAttempts),
      String(p.replayFraction),
      p.bridgeStrategy +
        (Object.keys(p.bridgeOptions ?? {}).length ? ` ${JSON.stringify(p.bridgeOptions)}` : ''),
      String(p.seed),
      dateTime(p.createdAt),
    ],
  });
}

export interface RoutingPreviewInfo {
  counts: { stage: string; count: number }[];
  unrouted: number;
  total: number;
  moves: { from: string; to: string; count: number }[];
  moved: number;
}

async function preview(api: ApiClient, argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      policy: { type: 'string' },
      checkpoint: { type: 'string' },
      dataset: { type: 'string', multiple: true },
      curriculum: { type: 'string' },
      round: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    POLICIES_USAGE,
  );
  noPositionals(positionals, POLICIES_USAGE);
  const datasets = listOption(values.dataset);
  requireOptions(
    { policy: values.policy, checkpoint: values.checkpoint, dataset: datasets.length },
    POLICIES_USAGE,
  );
  const round = intOption(values.round, 'round', 1);
  if ((round === undefined) !== (values.curriculum === undefined)) {
    throw new UsageError('--curriculum and --round go together');
  }
  const datasetIds = await resolveDatasetIds(api, datasets);
  const { previewRouting: p } = await api.graphql<{ previewRouting: RoutingPreviewInfo }>(
    `query($policy: ID!, $checkpoint: ID!, $datasets: [ID!]!, $curriculum: ID, $round: Int) {
      previewRouting(policyId: $policy, checkpointId: $checkpoint, datasetIds: $datasets,
                     curriculumId: $curriculum, round: $round) {
        counts { stage count } unrouted total moves { from to count } moved
      }
    }`,
    {
      policy: values.policy,
      checkpoint: values.checkpoint,
      datasets: datasetIds,
      curriculum: values.curriculum ?? null,
      round: round ?? null,
    },
  );
  if (values.json) return printJson(p);
  const counts = new Map(p.counts.map((c) => [c.stage, c.count]));
  const stages = [
    ...STAGE_ORDER.filter((s) => counts.has(s) || s !== 'CRITIQUE'),
    ...[...counts.keys()].filter((s) => !STAGE_ORDER.includes(s)),
  ];
  const share = (n: number) => (p.total ? pct(n / p.total) : '-');
  const rows = stages.map((s) => [s, formatNumber(counts.get(s) ?? 0), share(counts.get(s) ?? 0)]);
  rows.push(['(unrouted)', formatNumber(p.unrouted), share(p.unrouted)]);
  rows.push(['total', formatNumber(p.total), p.total ? '100%' : '-']);
  console.log(table(['STAGE', 'SAMPLES', 'SHARE'], rows));
  if (p.unrouted) {
    console.log(
      `\n${formatNumber(p.unrouted)} samples have fewer graded attempts than the policy's minAttempts under this checkpoint (probe them first).`,
    );
  }
  if (values.curriculum) {
    console.log(`\nMoves against round ${round}'s current assignments: ${formatNumber(p.moved)}`);
    if (p.moves.length) {
      console.log(
        table(
          ['FROM', 'TO', 'SAMPLES'],
          p.moves.map((m) => [m.from, m.to, formatNumber(m.count)]),
        ),
      );
    }
  }
  return EXIT.OK;
}

export async function policiesCommand(api: ApiClient, argv: string[]): Promise<number> {
  return runSubcommand(api, argv, { create, list, preview }, POLICIES_USAGE);
}
