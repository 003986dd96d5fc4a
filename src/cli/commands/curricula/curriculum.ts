/** A curriculum as the `curricula` commands read it: its views, their fields, one fetch by id. */
import { type ApiClient, ApiError } from '../../api-client';
import { oneId } from '../args';
import type { RunProgress } from '../output';
import { CURRICULA_USAGE } from './usage';

export const STATUSES = ['ACTIVE', 'PAUSED', 'SUCCEEDED', 'CANCELLED'];
export const TERMINAL = new Set(['SUCCEEDED', 'PAUSED', 'CANCELLED']);

export interface RunView {
  id: string;
  stage: string;
  status: string;
  round: number | null;
  progress: RunProgress | null;
  metrics: Record<string, unknown> | null;
  startedAt?: string | null;
  finishedAt?: string | null;
  error?: string | null;
}

export interface RoundStats {
  samplesPerStage?: Record<string, number>;
  unrouted?: number;
  moved?: number;
  moves?: Record<string, number>;
  bridge?: Record<string, unknown>;
  critiques?: { harvested?: number; written?: number; verified?: number };
  evalAccuracy?: number | null;
  baseEvalAccuracy?: number | null;
  /** The round's SFT checkpoint, before RL (only where RL ran after SFT). */
  sftEvalAccuracy?: number | null;
}

export interface RoundView {
  round: number;
  startCheckpoint: { id: string; name: string } | null;
  sftCheckpoint: { id: string; name: string } | null;
  endCheckpoint: { id: string; name: string } | null;
  stats: RoundStats;
}

export interface CurriculumView {
  id: string;
  name: string;
  phase: string;
  status: string;
  pauseReason: string | null;
  currentRound: number;
  rounds: number;
  roundResults: RoundView[];
  launcher: string;
  autoAdvance: boolean;
  stageConfigs: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
  baseCheckpoint: { id: string; name: string };
  policy: { id: string; name: string; version: number; bridgeStrategy: string };
  datasets: { id: string; name: string }[];
  evalDatasets: { id: string; name: string }[];
  currentRun: RunView | null;
}

export const RUN_FIELDS = `id stage status round progress metrics startedAt finishedAt error`;

/** Everything `status` and `watch` show; `roundResults` is the rounds with their figures. */
export const CURRICULUM_FIELDS = `id name phase status pauseReason currentRound rounds launcher autoAdvance
  stageConfigs createdAt updatedAt
  baseCheckpoint { id name }
  policy { id name version bridgeStrategy }
  datasets { id name } evalDatasets { id name }
  currentRun { ${RUN_FIELDS} }
  roundResults {
    round stats
    startCheckpoint { id name } sftCheckpoint { id name } endCheckpoint { id name }
  }`;

/** Fewer fields for a list of many. */
export const LIST_FIELDS = `id name phase status pauseReason currentRound rounds createdAt updatedAt
  baseCheckpoint { id name } policy { id name version } currentRun { id stage status progress }`;

export async function fetchCurriculum(api: ApiClient, id: string): Promise<CurriculumView> {
  const { node } = await api.graphql<{ node: (CurriculumView & { __typename: string }) | null }>(
    `query($id: ID!) { node(id: $id) { __typename ... on Curriculum { ${CURRICULUM_FIELDS} } } }`,
    { id },
  );
  if (!node || node.__typename !== 'Curriculum') {
    throw new ApiError(
      `${id} is a ${node?.__typename ?? 'unknown'} id, not a curriculum's`,
      'NOT_FOUND',
    );
  }
  return node;
}

/** The one curriculum id `curricula <sub> ID` takes. */
export function curriculumId(positionals: string[], sub: string): string {
  return oneId(positionals, `curricula ${sub}`, 'curriculum', CURRICULA_USAGE);
}
