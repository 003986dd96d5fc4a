/**
 * A dataset holding the runner's built-in task, loaded through the bulk endpoints of an API
 * process, and a run started and followed through GraphQL: what a user does before training.
 */
import fs from 'node:fs';
import path from 'node:path';
import { sftInput, writeTask } from '../../tests/helpers/runs';
import { waitFor } from './api-process';

export type Gql = (
  key: string,
  query: string,
  variables?: object,
) => Promise<{ data?: any; errors?: unknown[] }>;

export function gqlOf(apiUrl: string): Gql {
  return async (key, query, variables = {}) => {
    const res = await fetch(`${apiUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query, variables }),
    });
    return (await res.json()) as { data?: any; errors?: unknown[] };
  };
}

/** Creates `name` and imports `n` samples of the built-in task with their teacher traces. */
export async function loadBuiltinTask(
  apiUrl: string,
  adminKey: string,
  name: string,
  n: number,
): Promise<void> {
  await gqlOf(apiUrl)(
    adminKey,
    'mutation($name: String!) { createDataset(input: { name: $name, split: TRAIN }) { id } }',
    { name },
  );
  const task = writeTask(n);
  try {
    for (const [what, file] of [
      ['samples', task.samples],
      ['traces', task.traces],
    ]) {
      const res = await fetch(`${apiUrl}/v1/datasets/${name}/${what}?key=${adminKey}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/x-ndjson' },
        body: fs.readFileSync(file),
      });
      if (res.status !== 200) throw new Error(`import ${what}: ${res.status} ${await res.text()}`);
    }
  } finally {
    fs.rmSync(path.dirname(task.samples), { recursive: true, force: true });
  }
}

/** Starts a short SFT run on the task's traces and waits until it ends: its status and error. */
export async function runShortSft(
  apiUrl: string,
  key: string,
): Promise<{ id: string; status: string; error: string | null }> {
  const gql = gqlOf(apiUrl);
  const started = await gql(
    key,
    'mutation($input: StartRunInput!) { startRun(input: $input) { id } }',
    {
      input: sftInput({ steps: 10 }, 32),
    },
  );
  const id = started.data?.startRun?.id as string;
  if (!id) throw new Error(`startRun: ${JSON.stringify(started.errors)}`);
  return waitFor(
    'the run to end',
    async () => {
      const r = await gql(key, 'query($id: ID!) { run(id: $id) { status error } }', { id });
      const run = r.data?.run as { status: string; error: string | null } | undefined;
      return run && ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(run.status)
        ? { id, ...run }
        : undefined;
    },
    300_000,
    1000,
  );
}
