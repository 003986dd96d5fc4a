/**
 * Which HTTP request, if any, the code running now serves. The statement counter uses it so a
 * test counts the SQL of the requests it sends, not the background work (run supervision,
 * curricula, webhooks) that shares the pool.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { NextFunction, Request, Response } from 'express';

export interface RequestScope {
  requestId: string;
}

const storage = new AsyncLocalStorage<RequestScope>();
const scopes = new WeakMap<Request, RequestScope>();
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
  return storage.exit(work);
}

/**
 * Runs the rest of the chain inside the request's scope. Mount it first, and again after a body
 * parser: a parser calls `next` from the socket's events, outside the scope entered before it.
 */
export function enterRequestScope(req: Request, _res: Response, next: NextFunction): void {
  let scope = scopes.get(req);
  if (!scope) {
    scope = { requestId: String(++nextId) };
    scopes.set(req, scope);
  }
  storage.run(scope, next);
}
