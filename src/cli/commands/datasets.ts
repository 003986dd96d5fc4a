/** Datasets as the commands name them: by name, or (where a list is taken) by name or id. */
import { type ApiClient, ApiError } from '../api-client';

/** The id of the dataset called `name`; an unknown name is the API's NOT_FOUND. */
export async function datasetIdByName(api: ApiClient, name: string): Promise<string> {
  const { dataset } = await api.graphql<{ dataset: { id: string } }>(
    `query($name: String!) { dataset(name: $name) { id } }`,
    { name },
  );
  return dataset.id;
}

/** Whether a string is a Relay global id of this type (base64url of "Type:n"). */
function isGlobalIdOf(type: string, value: string): boolean {
  if (!/^[A-Za-z0-9_-]+$/.test(value)) return false;
  const decoded = Buffer.from(value, 'base64url').toString('utf8');
  return new RegExp(`^${type}:[1-9][0-9]*$`).test(decoded);
}

/**
 * Dataset ids for names or ids, in order: a name first (`dataset(name)`), else the value as a
 * Dataset id when it is one. An unknown name is the API's NOT_FOUND.
 */
export async function resolveDatasetIds(api: ApiClient, values: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const value of values) {
    try {
      ids.push(await datasetIdByName(api, value));
      continue;
    } catch (err) {
      if (!(err instanceof ApiError && ['NOT_FOUND', 'BAD_USER_INPUT'].includes(err.code))) {
        throw err;
      }
      if (!isGlobalIdOf('Dataset', value)) {
        throw new ApiError(`no dataset named or with id "${value}"`, 'NOT_FOUND');
      }
    }
    const { node } = await api.graphql<{ node: { id: string } }>(
      `query($id: ID!) { node(id: $id) { id } }`,
      { id: value },
    );
    ids.push(node.id);
  }
  return ids;
}
