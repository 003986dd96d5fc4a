import {
  createSourceEventStream,
  execute,
  print,
  type ExecutionArgs,
  type ExecutionResult,
} from 'graphql';

type Result = ExecutionResult | AsyncIterableIterator<ExecutionResult>;

export interface SharedSubscribeOptions {
  /**
   * Who the result is for, as far as it may differ: subscriptions share an event's execution only
   * within one audience. Authorisation happens per subscriber at subscribe time; this is the
   * safety margin should a field ever answer differently per scope.
   */
  audienceOf(contextValue: unknown): string;
  /** Applied once to each execution result before it is shared (error formatting). */
  finish(result: ExecutionResult): ExecutionResult;
}

/**
 * graphql's `subscribe`, except that an event delivered to many subscriptions of the same
 * operation (document, operation name, variables, audience) is executed and finished once: a
 * run's hub hands the same event object to its 1,000 subscribers, and they get one result
 * object, the one their transport serialises. Each subscription still runs its own subscribe
 * resolver (its authorisation and arguments), in its own context.
 *
 * A shared execution runs in the context of the subscriber that asked first; resolvers read
 * through its loaders. Results live as long as their event (a WeakMap on the event object).
 */
export function sharedSubscribe(
  opts: SharedSubscribeOptions,
): (args: ExecutionArgs) => Promise<Result> {
  const results = new WeakMap<object, Map<string, Promise<ExecutionResult>>>();
  const run = (args: ExecutionArgs, event: unknown) =>
    Promise.resolve(execute({ ...args, rootValue: event })).then((r) => opts.finish(r));
  const executeShared = (args: ExecutionArgs, key: string, event: unknown) => {
    if (typeof event !== 'object' || event === null) return run(args, event);
    let byKey = results.get(event);
    if (!byKey) results.set(event, (byKey = new Map<string, Promise<ExecutionResult>>()));
    let result = byKey.get(key);
    if (!result) byKey.set(key, (result = run(args, event)));
    return result;
  };

  return async (args) => {
    const stream = await createSourceEventStream(args);
    if (!isAsyncIterable(stream)) return stream;
    const key = JSON.stringify([
      print(args.document),
      args.operationName ?? null,
      args.variableValues ?? null,
      opts.audienceOf(args.contextValue),
    ]);
    return mapEvents(stream, (event) => executeShared(args, key, event));
  };
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    typeof (Object(value) as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === 'function'
  );
}

/**
 * The source stream's events mapped to results. Hand-written rather than an async generator:
 * a generator's return() waits for the pending next(), which may wait for an event forever,
 * whereas this passes return() straight to the source (graphql-js's mapAsyncIterator does too).
 */
function mapEvents(
  source: AsyncIterable<unknown>,
  map: (event: unknown) => Promise<ExecutionResult>,
): AsyncIterableIterator<ExecutionResult> {
  const iterator = source[Symbol.asyncIterator]();
  const close = async () => {
    await iterator.return?.();
  };
  const mapped = async (
    step: IteratorResult<unknown>,
  ): Promise<IteratorResult<ExecutionResult>> => {
    if (step.done) return { done: true, value: undefined };
    try {
      return { done: false, value: await map(step.value) };
    } catch (err) {
      await close().catch(() => undefined);
      throw err;
    }
  };
  return {
    next: async () => mapped(await iterator.next()),
    return: async () => {
      await close();
      return { done: true, value: undefined };
    },
    throw: async (err: unknown) => {
      if (iterator.throw) return mapped(await iterator.throw(err));
      throw err;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
