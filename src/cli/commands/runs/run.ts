/** A run as the `runs` commands read it: its fields, its events, one fetch, how long it ran. */
import type { ApiClient } from '../../api-client';
import { formatDuration, type RunProgress } from '../output';

export const STAGES = ['PROBE', 'SFT', 'RL', 'EVAL', 'BRIDGE', 'CRITIQUE'];
export const STATUSES = [
  'QUEUED',
  'STARTING',
  'RUNNING',
  'CANCELLING',
  'SUCCEEDED',
  'FAILED',
  'CANCELLED',
];
export const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

export const RUN_FIELDS = `id stage status attempt launcher progress metrics error exitCode
  createdAt startedAt finishedAt
  inputCheckpoint { id name } outputCheckpoint { id name }`;

export interface RunInfo {
  id: string;
  stage: string;
  status: string;
  attempt: number;
  launcher: string;
  progress: RunProgress | null;
  metrics: Record<string, unknown>;
  error: string | null;
  exitCode: number | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  inputCheckpoint: { id: string; name: string } | null;
  outputCheckpoint: { id: string; name: string } | null;
}

export interface RunEventData {
  seq: number;
  type: 'STATUS' | 'PROGRESS' | 'METRIC' | 'LOG' | 'ARTIFACT';
  payload: Record<string, unknown>;
  at: string;
}

export async function fetchRun(api: ApiClient, id: string): Promise<RunInfo> {
  const { run } = await api.graphql<{ run: RunInfo }>(
    `query($id: ID!) { run(id: $id) { ${RUN_FIELDS} } }`,
    { id },
  );
  return run;
}

/** How long the run has run (to its end, or to now), or "-" before it started. */
export function durationOf(run: RunInfo): string {
  if (!run.startedAt) return '-';
  const end = run.finishedAt ? Date.parse(run.finishedAt) : Date.now();
  return formatDuration((end - Date.parse(run.startedAt)) / 1000);
}
