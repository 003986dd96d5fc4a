import { Router, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { RestDeps } from '../../common/rest-deps';
import { requireScope } from '../../common/auth/principal';
import { badInput } from '../../common/errors';
import { ApiKeyScope } from '../api-keys/api-key.entity';
import type { ManifestService } from './manifest.service';
import { exportFilename, exportNdjson, exportParquet } from './manifest-export';

const exportQuery = z.strictObject({
  format: z.enum(['ndjson', 'parquet']).default('ndjson'),
});

const route =
  (handler: (req: Request, res: Response) => Promise<void>) =>
  (req: Request, res: Response, next: NextFunction) =>
    handler(req, res).catch(next);

/**
 * GET /manifests/:id/export?format=ndjson|parquet (READ): a frozen manifest as a trainer reads
 * it, streamed. `:id` is the manifest's global id.
 */
export function manifestExportRouter(
  deps: RestDeps & { services: { manifests: ManifestService } },
): Router {
  const router = Router();

  router.get(
    '/manifests/:id/export',
    route(async (req, res) => {
      const ctx = deps.contextOf(req);
      requireScope(ctx.principal, ApiKeyScope.READ);
      const query = exportQuery.safeParse(req.query);
      if (!query.success) {
        const issue = query.error.issues[0];
        throw badInput(`query ${issue.path.join('.') || 'string'}: ${issue.message}`);
      }
      const { format } = query.data;
      const manifest = await deps.services.manifests.byId(ctx, String(req.params.id));
      if (!manifest.frozenAt) throw badInput(`Manifest ${String(req.params.id)} is not frozen`);
      res.setHeader(
        'content-disposition',
        `attachment; filename="${exportFilename(manifest, format)}"`,
      );
      if (manifest.sha256) res.setHeader('x-manifest-sha256', manifest.sha256);
      if (format === 'parquet') await exportParquet(ctx.ds, res, manifest);
      else await exportNdjson(ctx.ds, res, manifest);
      ctx.log.info(
        { manifest: manifest.id, format, items: manifest.itemCount },
        'manifest exported',
      );
    }),
  );

  return router;
}
