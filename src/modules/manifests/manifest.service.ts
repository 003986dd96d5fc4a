import type { EntityManager } from 'typeorm';
import type { RequestContext } from '../../common/request-context';
import { badInput } from '../../common/errors';
import { loadNode } from '../../common/load-node';
import { Manifest, ManifestPurpose } from './manifest.entity';
import { prepareDecontamination, TRAINING_PURPOSES } from './decontamination';
import type { SampleFilter } from '../samples/sample.inputs';
import type { TraceKind } from '../traces/trace.entity';
import type { DataLengths } from '../runs/run-compute.types';
import type { SampleService } from '../samples/sample.service';

export interface ManifestSelection {
  filter: SampleFilter;
  /** Attach to each sample its first trace of these kinds (SFT); samples without one are left out. */
  traceKinds?: TraceKind[] | null;
  traceProducer?: string | null;
  limit?: number | null;
}

export interface FreezeOptions {
  /** Freeze an empty manifest instead of refusing with BAD_USER_INPUT. */
  allowEmpty?: boolean;
}

/**
 * Manifests: the frozen, ordered input of a run. Frozen in one statement from a query of items,
 * decontaminated against EVAL datasets when they train, then hashed; items never change
 * afterwards.
 */
export class ManifestService {
  constructor(private readonly samples: SampleService) {}

  /** A manifest by global id: BAD_USER_INPUT for a malformed id, NOT_FOUND when absent. */
  byId(ctx: RequestContext, globalId: string): Promise<Manifest> {
    return loadNode(ctx, Manifest, globalId);
  }

  /** Freezes the samples a selection matches (with their first usable trace, for SFT). */
  async freeze(
    ctx: RequestContext,
    manager: EntityManager,
    purpose: ManifestPurpose,
    selection: ManifestSelection,
  ): Promise<Manifest> {
    const [samplesSql, params]: [string, unknown[]] = this.samples
      .query(ctx, selection.filter)
      .select('s.id', 'id')
      .getQueryAndParameters();
    const p = (i: number) => `$${params.length + i}`;
    const extra: unknown[] = [];
    let traceJoin = '';
    let traceColumn = 'NULL::bigint';
    if (selection.traceKinds?.length) {
      extra.push(selection.traceKinds, selection.traceProducer ?? null);
      traceJoin = `JOIN LATERAL (
          SELECT t.id FROM traces t
          WHERE t.sample_id = s.id AND t.kind = ANY(${p(1)}::trace_kind[])
            AND (${p(2)}::text IS NULL OR t.producer = ${p(2)}) AND t.correct IS DISTINCT FROM false
          ORDER BY t.id LIMIT 1) tr ON true`;
      traceColumn = 'tr.id';
    }
    extra.push(selection.limit ?? null);
    return this.freezeFromSql(
      manager,
      purpose,
      `SELECT s.id AS sample_id, ${traceColumn} AS trace_id, s.id AS sort_key
       FROM (${samplesSql}) s ${traceJoin}
       ORDER BY s.id LIMIT ${p(extra.length)}`,
      [...params, ...extra],
    );
  }

  /**
   * Mean lengths of an item selection (SQL yielding sample_id and trace_id, as for
   * ManifestService.freezeFromSql): its prompts, and its traces; where it has none (RL's prompts),
   * each problem's longest verified teacher trace, the step-by-step one a trained student writes.
   */
  async selectionLengths(m: EntityManager, sql: string, params: unknown[]): Promise<DataLengths> {
    const [row] = await m.query<DataLengths[]>(
      `WITH sel AS (${sql})
       SELECT coalesce(avg(length(s.problem)), 0)::float AS prompt,
              coalesce(avg(length(t.text)),
                       (SELECT avg(l) FROM (SELECT max(length(tt.text)) AS l FROM traces tt
                          WHERE tt.sample_id IN (SELECT sample_id FROM sel)
                            AND tt.kind = 'TEACHER' AND tt.correct
                          GROUP BY tt.sample_id) x),
                       0)::float AS trace
       FROM sel JOIN samples s ON s.id = sel.sample_id LEFT JOIN traces t ON t.id = sel.trace_id`,
      params,
    );
    return row;
  }

  /**
   * Freezes the items `itemsSql` yields: a SELECT with columns `sample_id` (bigint), `trace_id`
   * (bigint or null) and `sort_key`, its placeholders $1..$n bound to `params`. Ordinals follow
   * (sort_key, sample_id, trace_id), from 1 and gapless; a sample may appear once per trace.
   * For a training purpose (SFT, RL, BRIDGE, CRITIQUE) samples overlapping an EVAL dataset are
   * left out and recorded in manifest_exclusions, before ordinals and hash are computed. The
   * sha256 is over the lines `ordinal:sample_id:trace_id`, joined by newlines, in ordinal order.
   * An empty result is BAD_USER_INPUT unless `allowEmpty`. Runs in `manager`'s transaction, which
   * the caller opened with `withTransaction` (the manifest, its items and the run it feeds commit
   * together).
   */
  async freezeFromSql(
    manager: EntityManager,
    purpose: ManifestPurpose,
    itemsSql: string,
    params: unknown[],
    opts: FreezeOptions = {},
  ): Promise<Manifest> {
    if (!manager.queryRunner?.isTransactionActive) {
      throw new Error('freezeFromSql needs a transaction’s manager (withTransaction)');
    }
    const manifest = await manager.save(manager.getRepository(Manifest).create({ purpose }));
    const m = `$${params.length + 1}`;
    const check = TRAINING_PURPOSES.has(purpose) ? await prepareDecontamination(manager) : null;
    // One statement: the items are read once; the exclusions are written and the kept items
    // numbered from what is left, so ordinals are gapless without renumbering.
    await manager.query(
      `WITH items AS MATERIALIZED (${itemsSql})
       ${
         check
           ? `, excluded AS (
                INSERT INTO manifest_exclusions (manifest_id, sample_id, eval_sample_id, reason)
                SELECT ${m}, h.sample_id, h.eval_sample_id, h.reason
                FROM (${check.hitsSql('SELECT DISTINCT sample_id FROM items')}) h
                RETURNING sample_id)`
           : ''
       }
       INSERT INTO manifest_items (manifest_id, ordinal, sample_id, trace_id)
       SELECT ${m}, row_number() OVER (ORDER BY i.sort_key, i.sample_id, i.trace_id),
              i.sample_id, i.trace_id
       FROM items i
       ${check ? 'WHERE NOT EXISTS (SELECT 1 FROM excluded e WHERE e.sample_id = i.sample_id)' : ''}`,
      [...params, manifest.id],
    );
    await check?.release();
    await manager.query(
      `UPDATE manifests m SET frozen_at = now(), item_count = agg.n, sha256 = agg.digest,
              contaminated_count = (SELECT count(*)::int FROM manifest_exclusions
                                    WHERE manifest_id = $1)
       FROM (SELECT count(*)::int AS n,
                    encode(sha256(convert_to(coalesce(string_agg(
                      ordinal || ':' || sample_id || ':' || coalesce(trace_id::text, ''), E'\\n'
                      ORDER BY ordinal), ''), 'UTF8')), 'hex') AS digest
             FROM manifest_items WHERE manifest_id = $1) agg
       WHERE m.id = $1`,
      [manifest.id],
    );
    const frozen = await manager.getRepository(Manifest).findOneByOrFail({ id: manifest.id });
    if (frozen.itemCount === 0 && !opts.allowEmpty) {
      throw badInput(
        frozen.contaminatedCount > 0
          ? `Every sample of the selection (${frozen.contaminatedCount}) overlaps an EVAL dataset ` +
              'and was left out (decontamination): nothing to run on'
          : 'The selection matches no samples (with a usable trace): nothing to run on',
        { contaminatedCount: frozen.contaminatedCount },
      );
    }
    return frozen;
  }
}
