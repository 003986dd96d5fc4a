import type { RequestContext } from '../../common/request-context';
import { loadNode } from '../../common/load-node';
import { conflict } from '../../common/errors';
import { idOf } from '../../common/ids';
import { conflictOnDuplicate } from '../../common/pg-errors';
import { keysetPage, type PageArgs } from '../../common/pagination';
import { Checkpoint } from './checkpoint.entity';
import type { CheckpointFilter, CreateCheckpointInput } from './checkpoint.inputs';

/** Checkpoints: registered model weights and their lineage. */
export class CheckpointService {
  list(ctx: RequestContext, filter: CheckpointFilter, page: PageArgs) {
    const q = ctx.ds.getRepository(Checkpoint).createQueryBuilder('c');
    if (filter.baseModel !== undefined) q.andWhere('c.baseModel = :bm', { bm: filter.baseModel });
    if (filter.parentId) q.andWhere('c.parentId = :p', { p: idOf('Checkpoint', filter.parentId) });
    if (filter.producedByRunId) {
      q.andWhere('c.producedByRunId = :r', { r: idOf('Run', filter.producedByRunId) });
    }
    return keysetPage(ctx.cursors, q, page);
  }

  async create(ctx: RequestContext, input: CreateCheckpointInput): Promise<Checkpoint> {
    const repo = ctx.ds.getRepository(Checkpoint);
    const parent = input.parentId ? await loadNode(ctx, Checkpoint, input.parentId) : null;
    const taken = () =>
      conflict(`A checkpoint named "${input.name}" already exists`, { name: input.name });
    if (await repo.existsBy({ name: input.name })) throw taken();
    // Another request may take the name between the check and the insert.
    return conflictOnDuplicate(
      'checkpoints',
      () =>
        repo.save(
          repo.create({
            name: input.name,
            baseModel: input.baseModel,
            uri: input.uri,
            onnxUri: input.onnxUri ?? null,
            parentId: parent?.id ?? null,
            metadata: input.metadata ?? {},
          }),
        ),
      taken,
    );
  }
}
