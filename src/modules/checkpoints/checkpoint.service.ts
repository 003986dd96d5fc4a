import type { EntityManager } from 'typeorm';
import type { RequestContext } from '../../common/request-context';
import { loadNode } from '../../common/load-node';
import { conflict } from '../../common/errors';
import { idOf } from '../../common/ids';
import { conflictOnDuplicate } from '../../common/pg-errors';
import { keysetPage, type PageArgs } from '../../common/pagination';
import { Checkpoint } from './checkpoint.entity';
import type { CheckpointFilter, CreateCheckpointInput } from './checkpoint.inputs';

/** A checkpoint a run reports having written (POST /v1/runs/:id/checkpoints). */
export interface RunCheckpoint {
  name: string;
  uri: string;
  onnxUri: string | null;
  baseModel: string;
  metadata: Record<string, unknown>;
  /** The run's input checkpoint: the new one's parent. */
  parentId: number | null;
  producedByRunId: number;
}

/**
 * Checkpoints: registered model weights and their lineage. The one writer of `checkpoints`:
 * by hand (createCheckpoint) or by the run that produced them (register).
 */
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

  /**
   * Registers a checkpoint a run produced, in the caller's transaction (the run's journal, so
   * the run's output and its ARTIFACT event commit with it). Registering the same name again
   * from the same run answers the stored one; a name another run or a person took is CONFLICT.
   */
  async register(manager: EntityManager, input: RunCheckpoint): Promise<Checkpoint> {
    const repo = manager.getRepository(Checkpoint);
    const taken = () =>
      conflict(`A checkpoint named "${input.name}" already exists`, { name: input.name });
    const existing = await repo.findOneBy({ name: input.name });
    if (existing) {
      if (existing.producedByRunId !== input.producedByRunId) throw taken();
      return existing;
    }
    return conflictOnDuplicate('checkpoints', () => repo.save(repo.create(input)), taken);
  }
}
