import type { RequestContext } from '../../app/context';

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
    private readonly ctx: RequestContext,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    if (this.intervalMs <= 0) return;
    const loop = () => {
      if (this.stopped) return;
      this.running = this.ctx.services.curricula
        .tick(this.ctx)
        // Experiments ride the same poll: their runs end the same way and need the same care.
        .then(() => this.ctx.services.experiments.tick(this.ctx))
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
