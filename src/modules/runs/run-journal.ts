import type { EntityManager } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import type { Announcer } from '../../common/pubsub/announcer';
import { conflict, notFound } from '../../common/errors';
import { withTransaction, type RequestContext } from '../../common/request-context';
import { Run, RunStatus } from './run.entity';
import { RunEvent, RunEventType } from './run-event.entity';
import { assertMove, isTerminal } from './run-status';

export interface NewEvent {
  type: RunEventType;
  payload: Record<string, unknown>;
  at?: Date;
  /** The runner's own seq: an event with a seq already stored is a resend and is skipped. */
  runnerSeq?: number | null;
}

export interface StatusChange {
  error?: string | null;
  exitCode?: number | null;
  exitSignal?: string | null;
  externalId?: string | null;
  /** Extra payload for the STATUS event (a message, a reason). */
  detail?: Record<string, unknown>;
  /** False when the STATUS event already came from the runner. */
  recordEvent?: boolean;
}

/**
 * One run, locked for the length of a transaction. Everything that changes a run goes through
 * here: its events get consecutive seqs in commit order (no gap for subscribers), its status
 * moves only along run-status.ts, and the changes are announced after the commit.
 */
export class LockedRun {
  private readonly changes: Partial<Run> = {};
  private recorded = 0;

  constructor(
    readonly manager: EntityManager,
    readonly run: Run,
  ) {}

  get eventsRecorded(): number {
    return this.recorded;
  }

  /** Which of these runner seqs are stored already (resends). */
  async storedRunnerSeqs(runnerSeqs: number[]): Promise<Set<number>> {
    const known = new Set<number>();
    if (runnerSeqs.length === 0) return known;
    const rows = await this.manager.query<{ runner_seq: number }[]>(
      'SELECT runner_seq FROM run_events WHERE run_id = $1 AND runner_seq = ANY($2)',
      [this.run.id, runnerSeqs],
    );
    for (const r of rows) known.add(r.runner_seq);
    return known;
  }

  /** Stores events with the next seqs; resent runner events are counted as duplicates. */
  async record(events: NewEvent[]): Promise<{ stored: number; duplicates: number }> {
    // A closed log is what subscribers were promised is complete: nothing may follow it.
    if (this.run.eventsClosedAt !== null && events.length > 0) {
      throw conflict(`Run ${this.run.id}'s event log is closed; no event can be added`, {
        runId: this.run.id,
      });
    }
    const known = await this.storedRunnerSeqs(
      events.map((e) => e.runnerSeq).filter((s): s is number => s != null),
    );
    const fresh = events.filter((e) => {
      if (e.runnerSeq == null) return true;
      if (known.has(e.runnerSeq)) return false;
      known.add(e.runnerSeq);
      return true;
    });
    if (fresh.length > 0) {
      const rows = fresh.map((e, i) => ({
        runId: this.run.id,
        seq: this.run.lastSeq + i + 1,
        runnerSeq: e.runnerSeq ?? null,
        type: e.type,
        payload: e.payload,
        at: e.at ?? new Date(),
      }));
      // jsonb payloads defeat TypeORM's deep-partial typing; the rows match the entity.
      await this.manager.insert(RunEvent, rows as QueryDeepPartialEntity<RunEvent>[]);
      this.run.lastSeq += fresh.length;
      this.changes.lastSeq = this.run.lastSeq;
      this.recorded += fresh.length;
    }
    return { stored: fresh.length, duplicates: events.length - fresh.length };
  }

  /** Moves the status (CONFLICT if illegal) and records the STATUS event. */
  async move(to: RunStatus, change: StatusChange = {}): Promise<void> {
    const from = this.run.status;
    assertMove(this.run.id, from, to);
    this.set({ status: to });
    if (to === RunStatus.STARTING) this.set({ startedAt: new Date() });
    if (isTerminal(to)) this.set({ finishedAt: new Date() });
    if (change.error !== undefined) this.set({ error: change.error });
    if (change.exitCode !== undefined) this.set({ exitCode: change.exitCode });
    if (change.exitSignal !== undefined) this.set({ exitSignal: change.exitSignal });
    if (change.externalId !== undefined) this.set({ externalId: change.externalId });
    if (change.recordEvent !== false) {
      await this.record([
        {
          type: RunEventType.STATUS,
          payload: {
            status: to,
            from,
            ...(change.error ? { message: change.error } : {}),
            ...change.detail,
          },
        },
      ]);
    }
  }

  /**
   * Closes the event log of a run that has ended (idempotent): call it once nothing more will be
   * stored for the run, e.g. after its launcher stored the output the process left behind.
   * runEvents streams complete only when they have sent everything up to here.
   */
  closeEvents(): void {
    if (!isTerminal(this.run.status)) {
      throw conflict(`Run ${this.run.id} is ${this.run.status}; only an ended run's log closes`);
    }
    if (this.run.eventsClosedAt === null) this.set({ eventsClosedAt: new Date() });
  }

  /** Field changes written with the commit. */
  set(fields: Partial<Run>): void {
    Object.assign(this.run, fields);
    Object.assign(this.changes, fields);
  }

  async flush(): Promise<boolean> {
    if (Object.keys(this.changes).length === 0) return false;
    await this.manager.update(
      Run,
      { id: this.run.id },
      this.changes as QueryDeepPartialEntity<Run>,
    );
    return true;
  }
}

export class RunJournal {
  constructor(private readonly announcer: Announcer) {}

  /**
   * Runs `work` with the run's row locked (FOR UPDATE) in the context's transaction (its own
   * when the context has none); announces its events and changes once that has committed.
   */
  locked<T>(ctx: RequestContext, runId: number, work: (run: LockedRun) => Promise<T>): Promise<T> {
    return withTransaction(ctx, async (tx) => {
      const run = await tx.manager
        .getRepository(Run)
        .createQueryBuilder('r')
        .setLock('pessimistic_write')
        .where('r.id = :id', { id: runId })
        .getOne();
      if (!run) throw notFound('Run', String(runId));
      const locked = new LockedRun(tx.manager, run);
      const result = await work(locked);
      const changed = await locked.flush();
      tx.afterCommit(async () => {
        if (locked.eventsRecorded > 0) await this.announcer.runEvents(runId, locked.run.lastSeq);
        if (changed) await this.announcer.runUpdated(runId);
      });
      return result;
    });
  }
}
