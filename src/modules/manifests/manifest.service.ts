import type { EntityManager } from 'typeorm';
import type { RequestContext } from '../../app/context';
import { badInput } from '../../common/errors';
import { Manifest, ManifestPurpose } from './manifest.entity';
import type { SampleFilter } from '../samples/sample.inputs';
import type { TraceKind } from '../traces/trace.entity';

export interface ManifestSelection {
  filter: SampleFilter;
  /** Attach to each sample its first trace of these kinds (SFT); samples without one are left out. */
  traceKinds?: TraceKind[] | null;
  traceProducer?: string | null;
  limit?: number | null;
}

/**
 * Manifests: the frozen, ordered input of a run. Frozen in one statement from a selection, then
 * hashed; items never change afterwards.
 */
export class ManifestService {
  async freeze(
    ctx: RequestContext,
    manager: EntityManager,
    purpose: ManifestPurpose,
    selection: ManifestSelection,
  ): Promise<Manifest> {
    const manifest = await manager.save(manager.getRepository(Manifest).create({ purpose }));
    const [samplesSql, params]: [string, unknown[]] = ctx.services.samples
      .query(ctx, selection.filter)
      .select('s.id', 'id')
      .getQueryAndParameters();
    const p = (i: number) => `$${params.length + i}`;
    const extra: unknown[] = [manifest.id];
    let traceJoin = '';
    let traceColumn = 'NULL::bigint';
    if (selection.traceKinds?.length) {
      extra.push(selection.traceKinds, selection.traceProducer ?? null);
      traceJoin = `JOIN LATERAL (
          SELECT t.id FROM traces t
          WHERE t.sample_id = s.id AND t.kind = ANY(${p(2)}::trace_kind[])
            AND (${p(3)}::text IS NULL OR t.producer = ${p(3)}) AND t.correct IS DISTINCT FROM false
          ORDER BY t.id LIMIT 1) tr ON true`;
      traceColumn = 'tr.id';
    }
    extra.push(selection.limit ?? null);
    await manager.query(
      `INSERT INTO manifest_items (manifest_id, ordinal, sample_id, trace_id)
       SELECT ${p(1)}, row_number() OVER (ORDER BY s.id), s.id, ${traceColumn}
       FROM (${samplesSql}) s ${traceJoin}
       ORDER BY s.id LIMIT ${p(extra.length)}`,
      [...params, ...extra],
    );
    await manager.query(
      `UPDATE manifests m SET frozen_at = now(), item_count = agg.n, sha256 = agg.digest
       FROM (SELECT count(*)::int AS n,
                    encode(sha256(convert_to(coalesce(string_agg(
                      ordinal || ':' || sample_id || ':' || coalesce(trace_id::text, ''), E'\\n'
                      ORDER BY ordinal), ''), 'UTF8')), 'hex') AS digest
             FROM manifest_items WHERE manifest_id = $1) agg
       WHERE m.id = $1`,
      [manifest.id],
    );
    const frozen = await manager.getRepository(Manifest).findOneByOrFail({ id: manifest.id });
    if (frozen.itemCount === 0) {
      throw badInput('The selection matches no samples (with a usable trace): nothing to run on');
    }
    return frozen;
  }
}
