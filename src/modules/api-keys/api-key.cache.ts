import { LRUCache } from 'lru-cache';
import type { Principal } from '../../common/auth/principal';

/**
 * Valid keys held at once. Only keys that exist and are not revoked are cached (a flood of
 * random tokens never enters), so this bounds memory against many real keys, not against abuse.
 */
const MAX_CACHED_KEYS = 10_000;

/**
 * The principals of recently used API keys, by the sha256 of the key, so that a request does
 * not cost a database round trip to find its caller. Correctness does not rest on the TTL: a
 * revoke (or any change of a key's scopes) invalidates the key here at once, and in every other
 * process through the announcement bus; the TTL only bounds how long a lost announcement can
 * leave a revoked key usable.
 *
 * Unknown and revoked keys are never cached: each one is looked up again, so a key created in
 * another process works at its first request, and random tokens cannot evict real keys.
 */
export class PrincipalCache {
  private readonly entries: LRUCache<string, Principal> | undefined;
  /**
   * Bumped by every invalidation. A lookup that started before an invalidation may have read
   * the row before the revoke committed, so its result is not stored (it is still used, once,
   * by the request that made it, which began before the revoke).
   */
  private generation = 0;

  /** `ttlMs` 0 turns caching off: every request looks its key up. */
  constructor(ttlMs: number) {
    this.entries =
      ttlMs > 0 ? new LRUCache<string, Principal>({ max: MAX_CACHED_KEYS, ttl: ttlMs }) : undefined;
  }

  get(hash: string): Principal | undefined {
    return this.entries?.get(hash);
  }

  /** What to pass to `set` with the result of a lookup that starts now. */
  startLookup(): number {
    return this.generation;
  }

  set(hash: string, principal: Principal, lookupStartedAt: number): void {
    if (lookupStartedAt !== this.generation) return;
    this.entries?.set(hash, principal);
  }

  /** Key `keyId` was revoked or changed: its entry goes (the cache is by hash, so a scan). */
  invalidate(keyId: number): void {
    this.generation += 1;
    if (!this.entries) return;
    const doomed = [...this.entries.entries()].filter(([, p]) => p.keyId === keyId);
    for (const [hash] of doomed) this.entries.delete(hash);
  }

  /** Announcements may have been lost (the bus's listener reconnected): trust nothing cached. */
  clear(): void {
    this.generation += 1;
    this.entries?.clear();
  }
}
