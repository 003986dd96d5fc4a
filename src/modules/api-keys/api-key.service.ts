import { createHash, randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { ApiKey, ApiKeyScope } from './api-key.entity';
import { effectiveScopes, type Principal } from '../../common/auth/principal';
import { notFound } from '../../common/errors';
import { keysetPage, type PageArgs } from '../../common/pagination';
import type { RequestContext } from '../../common/request-context';

const KEY_PREFIX = 'sw_';
const VISIBLE_PREFIX_LENGTH = 11;
/** lastUsedAt is a hint, not an audit log: write it at most this often per key. */
const LAST_USED_WRITE_INTERVAL_MS = 60_000;

export const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

/** API keys: created with their secret shown once, stored as a sha256, revoked by time. */
export class ApiKeyService {
  private readonly lastUsedWrites = new Map<number, number>();

  constructor(private readonly ds: DataSource) {}

  async create(input: {
    name: string;
    scopes: ApiKeyScope[];
    runId?: number | null;
  }): Promise<{ apiKey: ApiKey; key: string }> {
    const key = KEY_PREFIX + randomBytes(24).toString('base64url');
    const repo = this.ds.getRepository(ApiKey);
    const apiKey = await repo.save(
      repo.create({
        name: input.name,
        prefix: key.slice(0, VISIBLE_PREFIX_LENGTH),
        hash: hashKey(key),
        scopes: [...new Set(input.scopes)].sort(),
        runId: input.runId ?? null,
      }),
    );
    return { apiKey, key };
  }

  /** Revokes by id or visible prefix; revoking twice keeps the first time. */
  async revoke(idOrPrefix: string): Promise<ApiKey> {
    const repo = this.ds.getRepository(ApiKey);
    const found = /^[0-9]+$/.test(idOrPrefix)
      ? await repo.findOneBy({ id: Number(idOrPrefix) })
      : await repo.findOneBy({ prefix: idOrPrefix });
    if (!found) throw notFound('API key', idOrPrefix);
    if (!found.revokedAt) {
      found.revokedAt = new Date();
      await repo.update({ id: found.id }, { revokedAt: found.revokedAt });
    }
    return found;
  }

  list(ctx: RequestContext, page: PageArgs) {
    return keysetPage(ctx.cursors, this.ds.getRepository(ApiKey).createQueryBuilder('k'), page);
  }

  async count(): Promise<number> {
    return this.ds.getRepository(ApiKey).count();
  }

  /** The caller behind a bearer token, or null for an unknown or revoked key. */
  async authenticate(token: string): Promise<Principal | null> {
    if (!token.startsWith(KEY_PREFIX)) return null;
    const key = await this.ds.getRepository(ApiKey).findOneBy({ hash: hashKey(token) });
    if (!key || key.revokedAt) return null;
    this.touch(key.id);
    return {
      keyId: key.id,
      keyName: key.name,
      scopes: effectiveScopes(key.scopes),
      runId: key.runId,
    };
  }

  private touch(id: number): void {
    const now = Date.now();
    if (now - (this.lastUsedWrites.get(id) ?? 0) < LAST_USED_WRITE_INTERVAL_MS) return;
    this.lastUsedWrites.set(id, now);
    this.ds
      .getRepository(ApiKey)
      .update({ id }, { lastUsedAt: new Date(now) })
      .catch(() => this.lastUsedWrites.delete(id));
  }
}
