import type { RequestContext } from '../../common/request-context';
import type { CurriculumService } from './curriculum.service';

/** Something with one pass to make on each of the ticker's polls. */
export interface Tickable {
  tick(ctx: RequestContext): Promise<void>;
}

/**
 * Moves ACTIVE curricula on by polling: every `intervalMs` one pass over them. Polling (not
 * run callbacks) keeps it correct across restarts and replicas: each step locks its curriculum
 * row (SKIP LOCKED) and re-reads its run, so two processes never make the same transition.
 */
export class CurriculumTicker {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly curricula: CurriculumService,
    private readonly ctx: RequestContext,
    private readonly intervalMs: number,
    /** More passes on the same poll, after the curricula's (experiments: app/services.ts). */
    private readonly alsoTick: readonly Tickable[] = [],
  ) {}

  start(): void {
    if (this.intervalMs <= 0) return;
    const loop = () => {
      if (this.stopped) return;
      this.running = this.curricula
        .tick(this.ctx)
        .then(async () => {
          for (const other of this.alsoTick) await other.tick(this.ctx);
        })
        .catch((err: unknown) => this.ctx.log.error({ err }, 'curriculum tick failed'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, this.intervalMs);
        });
    };
    this.timer = setTimeout(loop, this.intervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
