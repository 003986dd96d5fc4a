/** The experiment fields the CLI reads, and how it fetches one. */
import { ApiError, type ApiClient } from '../../api-client';

export const STATUSES = ['ACTIVE', 'PAUSED', 'SUCCEEDED', 'CANCELLED'];
/** Where a watch stops: the experiment moves no more. */
export const TERMINAL = new Set(['SUCCEEDED', 'PAUSED', 'CANCELLED']);
export const ARMS = [
  'STAGEWISE',
  'SFT_ALL',
  'DISTILL_RAW',
  'RL_ONLY',
  'SFT_THEN_RL',
  'NO_BRIDGE',
  'NO_CRITIQUE',
  'NO_ROUTING_RL',
];

export interface ArmView {
  arm: string;
  seedsDone: number;
  meanAccuracy: number | null;
  ciLow: number | null;
  ciHigh: number | null;
  levels: { level: number; accuracy: number }[];
  computeUsed: number;
  computePlanned: number;
  pValueVsBest: number | null;
  pValueVsStagewise: number | null;
}

export interface ExperimentView {
  id: string;
  name: string;
  status: string;
  pauseReason: string | null;
  seeds: number;
  computeBudget: number;
  armNames: string[];
  updatedAt: string;
  arms?: ArmView[];
}

export const LIST_FIELDS = 'id name status pauseReason seeds computeBudget armNames updatedAt';
export const STATUS_FIELDS = `${LIST_FIELDS} arms { arm seedsDone meanAccuracy ciLow ciHigh
  levels { level accuracy } computeUsed computePlanned pValueVsBest pValueVsStagewise }`;

export async function fetchExperiment(api: ApiClient, id: string): Promise<ExperimentView> {
  const { node } = await api.graphql<{ node: (ExperimentView & { __typename: string }) | null }>(
    `query($id: ID!) { node(id: $id) { __typename ... on Experiment { ${STATUS_FIELDS} } } }`,
    { id },
  );
  if (!node || node.__typename !== 'Experiment') {
    throw new ApiError(
      `${id} is a ${node?.__typename ?? 'unknown'} id, not an experiment's`,
      'NOT_FOUND',
    );
  }
  return node;
}
