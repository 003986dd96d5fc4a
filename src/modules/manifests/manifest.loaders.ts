import DataLoader from 'dataloader';
import type { RequestContext } from '../../common/request-context';
import type { LoaderRegistry } from '../../common/loaders';
import { ManifestExclusion } from './manifest-exclusion.entity';

export interface ExclusionPage {
  first: number;
  /** Only exclusions of samples with a greater id (the sample order). */
  afterSampleId?: string | null;
}

/** Per request (keyed by its registry) and per page shape, like LoaderRegistry's own. */
const perRequest = new WeakMap<
  LoaderRegistry,
  Map<string, DataLoader<number, ManifestExclusion[]>>
>();

/**
 * exclusionsByManifestId: the exclusions of many manifests in one statement, in sample order,
 * at most `first` per manifest. (Exclusions have a composite key, which the registry's generic
 * childrenBy, built on an `id` column, does not cover.)
 */
export function exclusionsByManifestId(
  ctx: RequestContext,
  page: ExclusionPage,
): DataLoader<number, ManifestExclusion[]> {
  let loaders = perRequest.get(ctx.loaders);
  if (!loaders) {
    loaders = new Map();
    perRequest.set(ctx.loaders, loaders);
  }
  const name = JSON.stringify([page.first, page.afterSampleId ?? null]);
  let loader = loaders.get(name);
  if (!loader) {
    loader = new DataLoader<number, ManifestExclusion[]>(async (manifestIds) => {
      const rows = await ctx.ds.query<
        { manifest_id: number; sample_id: string; eval_sample_id: string; reason: string }[]
      >(
        `SELECT manifest_id, sample_id::text, eval_sample_id::text, reason FROM (
           SELECT e.*, row_number() OVER (PARTITION BY e.manifest_id ORDER BY e.sample_id) AS rn
           FROM manifest_exclusions e
           WHERE e.manifest_id = ANY($1::int[]) AND ($2::bigint IS NULL OR e.sample_id > $2)
         ) ranked WHERE rn <= $3 ORDER BY manifest_id, sample_id`,
        [manifestIds, page.afterSampleId ?? null, page.first],
      );
      const grouped = new Map<number, ManifestExclusion[]>();
      for (const row of rows) {
        const exclusion = Object.assign(new ManifestExclusion(), {
          manifestId: row.manifest_id,
          sampleId: row.sample_id,
          evalSampleId: row.eval_sample_id,
          reason: row.reason,
        });
        const list = grouped.get(row.manifest_id) ?? [];
        list.push(exclusion);
        grouped.set(row.manifest_id, list);
      }
      return manifestIds.map((id) => grouped.get(id) ?? []);
    });
    loaders.set(name, loader);
  }
  return loader;
}
