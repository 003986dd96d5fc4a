import type { RequestContext } from '../../common/request-context';
import { loadNode } from '../../common/load-node';
import { conflict, notFound } from '../../common/errors';
import { keysetPage, type PageArgs } from '../../common/pagination';
import { conflictOnDuplicate } from '../../common/pg-errors';
import { likePattern } from '../../common/sql';
import { Dataset } from './dataset.entity';
import type { CreateDatasetInput, DatasetFilter, UpdateDatasetInput } from './dataset.inputs';

const nameTaken = (name: string) => conflict(`A dataset named "${name}" already exists`, { name });

/** Datasets: named sources of samples. */
export class DatasetService {
  list(ctx: RequestContext, filter: DatasetFilter, page: PageArgs) {
    const q = ctx.ds.getRepository(Dataset).createQueryBuilder('d');
    if (filter.split) q.andWhere('d.split = :split', { split: filter.split });
    if (filter.nameContains) {
      q.andWhere('d.name ILIKE :name', { name: likePattern(filter.nameContains) });
    }
    return keysetPage(ctx.cursors, q, page);
  }

  async byName(ctx: RequestContext, name: string): Promise<Dataset> {
    const dataset = await ctx.ds.getRepository(Dataset).findOneBy({ name });
    if (!dataset) throw notFound('Dataset', name);
    return dataset;
  }

  async create(ctx: RequestContext, input: CreateDatasetInput): Promise<Dataset> {
    const repo = ctx.ds.getRepository(Dataset);
    const taken = () => nameTaken(input.name);
    if (await repo.existsBy({ name: input.name })) throw taken();
    // Another request may take the name between the check and the insert.
    return conflictOnDuplicate(
      'datasets',
      () =>
        repo.save(
          repo.create({
            name: input.name,
            split: input.split,
            description: input.description ?? null,
          }),
        ),
      taken,
    );
  }

  async update(ctx: RequestContext, input: UpdateDatasetInput): Promise<Dataset> {
    const dataset = await loadNode(ctx, Dataset, input.id);
    const repo = ctx.ds.getRepository(Dataset);
    const newName = input.name;
    if (newName !== undefined && newName !== dataset.name) {
      if (await repo.existsBy({ name: newName })) throw nameTaken(newName);
      dataset.name = newName;
    }
    if (input.split != null) dataset.split = input.split;
    if (input.description !== undefined) dataset.description = input.description;
    return conflictOnDuplicate(
      'datasets',
      () => repo.save(dataset),
      () => nameTaken(dataset.name),
    );
  }
}
