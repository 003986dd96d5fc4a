import { Arg, Ctx, Field, ID, InputType, Int, Resolver, Root, Subscription } from 'type-graphql';
import type { SubscribeResolverData } from 'type-graphql';
import { In } from 'typeorm';
import { freshLoaders, type RequestContext } from '../../common/request-context';
import { badInput, notFound } from '../../common/errors';
import { idOf } from '../../common/ids';
import { changedSinceCutoff, liveRows, liveRowsById } from '../../common/pubsub/live-rows';
import { Curriculum } from '../curricula/curriculum.entity';
import { Run, RunStage, RunStatus } from './run.entity';
import { RunEvent } from './run-event.entity';
import { readBatchOf, runEventStream } from './run-event-stream';

const MAX_RUN_IDS = 100;

@InputType({ description: 'Which run updates to receive; every condition given must hold.' })
export class RunUpdatedFilter {
  @Field(() => [ID], { nullable: true, description: `Only these runs (at most ${MAX_RUN_IDS}).` })
  runIds?: string[] | null;

  @Field(() => [RunStatus], { nullable: true, description: 'Runs now in any of these statuses.' })
  status?: RunStatus[] | null;

  @Field(() => RunStage, { nullable: true })
  stage?: RunStage | null;

  @Field(() => ID, { nullable: true })
  curriculumId?: string | null;
}

type Subscribe<A> = SubscribeResolverData<unknown, A, RequestContext>;

/**
 * For run events, fresh loaders per read rather than per event: a replay of thousands of events
 * then costs one `run` lookup per page, and each page still sees the run as of its own read.
 */
const loaderBatch = new WeakMap<RequestContext, object>();
function freshLoadersPerRead(ctx: RequestContext, event: RunEvent): void {
  const batch = readBatchOf(event);
  if (batch && loaderBatch.get(ctx) === batch) return;
  freshLoaders(ctx);
  if (batch) loaderBatch.set(ctx, batch);
}

async function subscribeRunEvents(data: Subscribe<{ runId: string; afterSeq?: number | null }>) {
  const { ds, announcements } = data.context;
  const runId = Number(idOf('Run', data.args.runId));
  const afterSeq = data.args.afterSeq ?? 0;
  if (afterSeq < 0) throw badInput('afterSeq must be 0 or more', { afterSeq });
  const [found] = await ds.query<unknown[]>('SELECT 1 FROM runs WHERE id = $1', [runId]);
  if (!found) throw notFound('Run', data.args.runId);
  return runEventStream(ds, announcements, runId, afterSeq);
}

function runMatcher(filter: RunUpdatedFilter) {
  if ((filter.runIds?.length ?? 0) > MAX_RUN_IDS) {
    throw badInput(`runIds takes at most ${MAX_RUN_IDS} ids`);
  }
  const ids = filter.runIds ? new Set(filter.runIds.map((id) => Number(idOf('Run', id)))) : null;
  const status = filter.status?.length ? new Set(filter.status) : null;
  const curriculumId = filter.curriculumId ? Number(idOf('Curriculum', filter.curriculumId)) : null;
  return {
    ids,
    wants: (id: number) => !ids || ids.has(id),
    matches: (run: Run) =>
      (!status || status.has(run.status)) &&
      (!filter.stage || run.stage === filter.stage) &&
      (curriculumId === null || run.curriculumId === curriculumId),
  };
}

function subscribeRunUpdated(data: Subscribe<{ filter?: RunUpdatedFilter | null }>) {
  const { ds, announcements } = data.context;
  const match = runMatcher(data.args.filter ?? {});
  const runs = ds.getRepository(Run);
  return liveRows<Run>(announcements, {
    // By id when the filter names runs: only their announcements wake this stream.
    topics: match.ids ? [...match.ids].map((id) => `runUpdated:${id}`) : ['runUpdated'],
    wants: match.wants,
    idOf: (run) => run.id,
    load: async (ids) =>
      (await runs.find({ where: { id: In(ids) }, order: { id: 'ASC' } })).filter(match.matches),
    changedSince: async (lostAt) =>
      match.ids
        ? [...match.ids]
        : (
            await ds.query<{ id: number }[]>('SELECT id FROM runs WHERE updated_at >= $1', [
              changedSinceCutoff(lostAt),
            ])
          ).map((r) => r.id),
  });
}

function subscribeCurriculumUpdated(data: Subscribe<{ curriculumId?: string | null }>) {
  const { ds, announcements } = data.context;
  const only = data.args.curriculumId ? Number(idOf('Curriculum', data.args.curriculumId)) : null;
  return liveRowsById(ds, announcements, Curriculum, 'curriculumUpdated', only);
}

/** Live views of runs and curricula, over graphql-ws and graphql-sse (src/app/subscriptions.ts). */
@Resolver()
export class RunSubscriptionResolver {
  @Subscription(() => RunEvent, {
    subscribe: subscribeRunEvents,
    description:
      "The run's stored events after afterSeq, then new ones as they happen, in seq order, each " +
      'once. Completes once the run has ended and its event log is closed (Run.eventsComplete: ' +
      'the last output lines stored after the terminal STATUS included) and every event was ' +
      'sent, so a live stream and a replay are identical. To resume after a disconnect, ' +
      'subscribe again with afterSeq = the last seq received.',
  })
  runEvents(
    @Root() event: RunEvent,
    @Ctx() ctx: RequestContext,
    @Arg('runId', () => ID) _runId: string,
    @Arg('afterSeq', () => Int, { defaultValue: 0 }) _afterSeq: number,
  ): RunEvent {
    freshLoadersPerRead(ctx, event);
    return event;
  }

  @Subscription(() => Run, {
    subscribe: subscribeRunUpdated,
    description:
      'The run, as stored, each time a run matching the filter changes (status, progress, ' +
      'metrics). Updates in quick succession may arrive as one.',
  })
  runUpdated(
    @Root() run: Run,
    @Ctx() ctx: RequestContext,
    @Arg('filter', () => RunUpdatedFilter, { nullable: true }) _filter?: RunUpdatedFilter,
  ): Run {
    freshLoaders(ctx);
    return run;
  }

  @Subscription(() => Curriculum, {
    subscribe: subscribeCurriculumUpdated,
    description: 'The curriculum, as stored, each time it changes; all curricula without an id.',
  })
  curriculumUpdated(
    @Root() curriculum: Curriculum,
    @Ctx() ctx: RequestContext,
    @Arg('curriculumId', () => ID, { nullable: true }) _curriculumId?: string,
  ): Curriculum {
    freshLoaders(ctx);
    return curriculum;
  }
}
