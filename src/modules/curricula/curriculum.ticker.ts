import type { ContextFactory, RequestContext } from '../../common/request-context';
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
  private passes = 0;

  constructor(
    private readonly curricula: CurriculumService,
    /**
     * A fresh context per pass: a context's loaders cache the rows they read, and one kept for
     * the server's life would serve a pass the rows an earlier pass saw.
     */
    private readonly contextFor: ContextFactory,
    private readonly intervalMs: number,
    /** More passes on the same poll, after the curricula's (experiments: app/services.ts). */
    private readonly alsoTick: readonly Tickable[] = [],
  ) {}

  start(): void {
    if (this.intervalMs <= 0) return;
    const loop = () => {
      if (this.stopped) return;
      const ctx = this.contextFor(`curriculum-tick:${++this.passes}`);
      this.running = this.curricula
        .tick(ctx)
        .then(async () => {
          for (const other of this.alsoTick) await other.tick(ctx);
        })
        .catch((err: unknown) => ctx.log.error({ err }, 'curriculum tick failed'))
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
