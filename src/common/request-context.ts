import type { DataSource, EntityManager } from 'typeorm';
import type { Logger } from 'pino';
import { SYSTEM, type Principal } from './auth/principal';
import { LoaderRegistry } from './loaders';
import type { CursorCodec } from './pagination';
import type { AnnouncementSource } from './pubsub/bus';

/**
 * What every resolver and service method receives first: who asks, and per-request state.
 * It carries no services: resolvers and services get theirs through their constructors, from
 * the composition root (src/app/services.ts), so who calls whom shows in the code.
 */
export interface RequestContext {
  requestId: string;
  log: Logger;
  principal: Principal;
  loaders: LoaderRegistry;
  cursors: CursorCodec;
  ds: DataSource;
  /**
   * The listening side of the pub/sub (common/pubsub): what subscriptions wait on. Infrastructure
   * like `ds`, here because type-graphql's subscribe functions see only the context.
   */
  announcements: AnnouncementSource;
  /** The transaction the work is in, inside `withTransaction`; absent outside one. */
  manager?: EntityManager;
  /** Set with `manager`: queues work for after the outermost transaction commits. */
  afterCommit?: (work: () => Promise<void>) => void;
}

/** A context inside a transaction: what services that write together receive. */
export type TransactionContext = RequestContext & {
  manager: EntityManager;
  afterCommit: (work: () => Promise<void>) => void;
};

/**
 * Runs `work` in one transaction, handing it the context with the transaction in it, so the
 * service methods it calls write through `tx.manager` and commit together (Vendure passes its
 * RequestContext the same way). Inside a transaction already, it joins that one: the outer
 * caller commits. What `tx.afterCommit` queued (announcements) runs in order once the outermost
 * transaction has committed, before it returns; nothing of it runs after a rollback. This is the
 * one place in src/ that opens a transaction (eslint.config.mjs keeps it so for src/modules).
 */
export async function withTransaction<T>(
  ctx: RequestContext,
  work: (tx: TransactionContext) => Promise<T>,
): Promise<T> {
  if (ctx.manager) return work(ctx as TransactionContext);
  const committed: (() => Promise<void>)[] = [];
  const result = await ctx.ds.transaction((manager) =>
    work({ ...ctx, manager, afterCommit: (then) => void committed.push(then) }),
  );
  for (const then of committed) await then();
  return result;
}

/** Builds the context of background work from its id (a queue job, a run's exit, a fan-out). */
export type ContextFactory = (requestId: string) => RequestContext;

/** The same context for GraphQL operations and REST handlers, built after authentication. */
export function createRequestContext(
  deps: { ds: DataSource; cursors: CursorCodec; announcements: AnnouncementSource },
  req: { id: unknown; log: Logger; principal?: Principal },
): RequestContext {
  if (!req.principal) throw new Error('createRequestContext called before authentication');
  return {
    requestId: String(req.id),
    log: req.log,
    principal: req.principal,
    loaders: new LoaderRegistry(deps.ds),
    cursors: deps.cursors,
    ds: deps.ds,
    announcements: deps.announcements,
  };
}

/**
 * The context of work the server does on its own behalf (queue jobs, the run supervisor, the
 * curriculum engine, webhook fan-outs): the SYSTEM principal, a request id naming the work.
 */
export function createSystemContext(
  deps: { ds: DataSource; cursors: CursorCodec; announcements: AnnouncementSource },
  req: { id: string; log: Logger },
): RequestContext {
  return createRequestContext(deps, { ...req, principal: SYSTEM });
}

/**
 * A subscription's context lives as long as the stream; its loaders would cache a row forever.
 * Each event gets fresh ones (events are resolved one at a time).
 */
export function freshLoaders(ctx: RequestContext): void {
  ctx.loaders = new LoaderRegistry(ctx.ds);
}
