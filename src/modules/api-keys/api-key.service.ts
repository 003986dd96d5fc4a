import { createHash, randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { ApiKey, ApiKeyScope } from './api-key.entity';
import { effectiveScopes, type Principal } from '../../common/auth/principal';
import { notFound } from '../../common/errors';
import { keysetPage, type PageArgs } from '../../common/pagination';
import { preparedQuery } from '../../common/db/prepared';
import type { Announcer } from '../../common/pubsub/announcer';
import { offlineAnnouncements, type AnnouncementSource } from '../../common/pubsub/bus';
import type { RequestContext } from '../../common/request-context';
import { PrincipalCache } from './api-key.cache';

const KEY_PREFIX = 'sw_';
const VISIBLE_PREFIX_LENGTH = 11;
/** lastUsedAt is a hint, not an audit log: write it at most this often per key. */
const LAST_USED_WRITE_INTERVAL_MS = 60_000;

export const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

/** The one statement a request may need to find its caller (on a cache miss): prepared. */
const LOOKUP_NAME = 'api_key_by_hash';
const LOOKUP_SQL = `SELECT id, name, scopes, run_id FROM api_keys
  WHERE hash = $1 AND revoked_at IS NULL`;

export interface ApiKeyServiceOptions {
  /** How long a key's principal is trusted without a lookup (0: always look up). */
  cacheTtlMs: number;
}

/**
 * API keys: created with their secret shown once, stored as a sha256, revoked by time.
 *
 * Requests find their caller in a per-process cache (PrincipalCache). Every write that revokes
 * a key or changes its scopes goes through this service, which drops the key from its own cache
 * before it returns and announces it (`apiKeyChanged`), so every other API process drops it as
 * soon as the announcement arrives.
 */
export class ApiKeyService {
  private readonly lastUsedWrites = new Map<number, number>();
  private readonly cache: PrincipalCache;

  constructor(
    private readonly ds: DataSource,
    private readonly live: Announcer & AnnouncementSource = offlineAnnouncements,
    opts: ApiKeyServiceOptions = { cacheTtlMs: 0 },
  ) {
    this.cache = new PrincipalCache(opts.cacheTtlMs);
    live.listen(['apiKeyChanged'], (signal) => {
      if (signal.k === 'resync') this.cache.clear();
      else if (signal.k === 'apiKeyChanged') this.forget(signal.id);
    });
  }

  private forget(keyId: number): void {
    this.cache.invalidate(keyId);
    this.lastUsedWrites.delete(keyId);
  }

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
      await this.changed([found.id]);
    }
    return found;
  }

  /** A run ended: its runner key stops working. */
  async revokeRunKeys(runId: number): Promise<void> {
    // TypeORM answers an UPDATE with [rows, rowCount].
    const [rows] = await this.ds.query<[{ id: number }[], number]>(
      `UPDATE api_keys SET revoked_at = now() WHERE run_id = $1 AND revoked_at IS NULL
       RETURNING id`,
      [runId],
    );
    await this.changed(rows.map((r) => r.id));
  }

  /**
   * Runner keys of runs ended more than `graceSeconds` ago whose exit this process never saw
   * (adopted after a restart): the runner had its grace to flush; the key goes.
   */
  async revokeKeysOfEndedRuns(graceSeconds: number): Promise<void> {
    const [rows] = await this.ds.query<[{ id: number }[], number]>(
      `UPDATE api_keys k SET revoked_at = now() FROM runs r
       WHERE k.run_id = r.id AND k.revoked_at IS NULL
         AND r.status IN ('SUCCEEDED', 'FAILED', 'CANCELLED')
         AND r.finished_at < now() - make_interval(secs => $1)
       RETURNING k.id`,
      [graceSeconds],
    );
    await this.changed(rows.map((r) => r.id));
  }

  /** After the commit: gone from this process's cache now, from the others' when they hear. */
  private async changed(keyIds: number[]): Promise<void> {
    for (const id of keyIds) this.forget(id);
    await Promise.all(keyIds.map((id) => this.live.apiKeyChanged(id)));
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
    const hash = hashKey(token);
    const cached = this.cache.get(hash);
    if (cached) {
      this.touch(cached.keyId);
      return cached;
    }
    const lookup = this.cache.startLookup();
    const [key] = await preparedQuery<{
      id: number;
      name: string;
      scopes: ApiKeyScope[];
      run_id: number | null;
    }>(this.ds, LOOKUP_NAME, LOOKUP_SQL, [hash]);
    if (!key) return null;
    const principal: Principal = {
      keyId: key.id,
      keyName: key.name,
      scopes: effectiveScopes(key.scopes),
      runId: key.run_id,
    };
    this.cache.set(hash, principal, lookup);
    this.touch(key.id);
    return principal;
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
