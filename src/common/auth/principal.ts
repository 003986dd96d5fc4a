import { ApiKeyScope } from './scopes';
import { forbidden } from '../errors';

/** Who is calling: the API key's identity and what it may do. */
export interface Principal {
  keyId: number;
  keyName: string;
  scopes: ReadonlySet<ApiKeyScope>;
  /** Set for RUNNER keys: the one run they act for. */
  runId: number | null;
}

/** ADMIN includes WRITE, WRITE includes READ. RUNNER stands alone. */
const IMPLIED: Record<ApiKeyScope, ApiKeyScope[]> = {
  READ: [ApiKeyScope.READ],
  WRITE: [ApiKeyScope.READ, ApiKeyScope.WRITE],
  ADMIN: [ApiKeyScope.READ, ApiKeyScope.WRITE, ApiKeyScope.ADMIN],
  RUNNER: [ApiKeyScope.RUNNER],
};

export function effectiveScopes(scopes: Iterable<ApiKeyScope>): Set<ApiKeyScope> {
  return new Set([...scopes].flatMap((s) => IMPLIED[s]));
}

export function requireScope(principal: Principal, scope: ApiKeyScope): void {
  if (!principal.scopes.has(scope)) {
    throw forbidden(`This API key lacks the ${scope} scope`);
  }
}

/** The server acting on its own behalf (the curriculum engine): not a key, never a caller. */
export const SYSTEM: Principal = {
  keyId: 0,
  keyName: 'system',
  scopes: new Set([ApiKeyScope.READ, ApiKeyScope.WRITE, ApiKeyScope.ADMIN]),
  runId: null,
};
