/**
 * Which HTTP request, if any, the code running now serves. The statement counter uses it so a
 * test counts the SQL of the requests it sends, not the background work (run supervision,
 * curricula, webhooks) that shares the pool.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, Response } from 'express';

export interface RequestScope {
  requestId: string;
}

const storage = new AsyncLocalStorage<RequestScope>();
/**
 * Off until a statement counter asks for scopes: once entered, AsyncLocalStorage makes every
 * promise of the process pay a hook, a large share of a big GraphQL response's CPU.
 */
let enabled = false;

/** Called by a data source that counts statements (tests and benchmarks that count). */
export function enableRequestScopes(): void {
  enabled = true;
}
const scopes = new WeakMap<IncomingMessage, RequestScope>();
let nextId = 0;

/** The request being served, or undefined in background work. */
export function currentRequest(): RequestScope | undefined {
  return storage.getStore();
}

/**
 * Runs `work` as background work: whatever it starts is not counted with the request that
 * happened to wake it (an announcement published while serving one).
 */
export function outsideRequestScope<T>(work: () => T): T {
  return enabled ? storage.exit(work) : work();
}

/**
 * Runs the rest of the chain inside the request's scope. Mount it first, and again after a body
 * parser: a parser calls `next` from the socket's events, outside the scope entered before it.
 */
export function enterRequestScope(req: Request, _res: Response, next: NextFunction): void {
  runInRequestScope(req, next);
}

/**
 * `work` inside the scope of `req` (the same scope whichever of Express or the lean GraphQL path
 * enters it, so a request handed from one to the other stays one request).
 */
export function runInRequestScope(req: IncomingMessage, work: () => void): void {
  if (!enabled) {
    work();
    return;
  }
  let scope = scopes.get(req);
  if (!scope) {
    scope = { requestId: String(++nextId) };
    scopes.set(req, scope);
  }
  storage.run(scope, work);
}
