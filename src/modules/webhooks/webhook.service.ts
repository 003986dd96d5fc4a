import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { RequestContext } from '../../common/request-context';
import { keysetPage, type PageArgs } from '../../common/pagination';
import { notFound } from '../../common/errors';
import { Webhook } from './webhook.entity';
import { WebhookDelivery } from './webhook-delivery.entity';
import type { CreateWebhookInput, UpdateWebhookInput } from './webhook.inputs';

/** Registered webhooks and their delivery log (ADMIN; the resolver declares the scope). */
export class WebhookService {
  constructor(private readonly ds: DataSource) {}

  async create(
    _ctx: RequestContext,
    input: CreateWebhookInput,
  ): Promise<{ webhook: Webhook; secret: string }> {
    const secret = `whsec_${randomBytes(32).toString('base64url')}`;
    const repo = this.ds.getRepository(Webhook);
    const webhook = await repo.save(
      repo.create({
        url: input.url,
        events: input.events,
        description: input.description ?? null,
        active: input.active,
        secret,
      }),
    );
    return { webhook, secret };
  }

  async update(_ctx: RequestContext, id: string, input: UpdateWebhookInput): Promise<Webhook> {
    const repo = this.ds.getRepository(Webhook);
    const webhook = await repo.findOneBy({ id: Number(id) });
    if (!webhook) throw notFound('Webhook', id);
    if (input.url != null) webhook.url = input.url;
    if (input.events != null) webhook.events = input.events;
    if (input.description !== undefined) webhook.description = input.description;
    if (input.active != null) webhook.active = input.active;
    return repo.save(webhook);
  }

  /** Deletes the hook and its delivery log; queued attempts find nothing and stop. */
  async delete(_ctx: RequestContext, id: string): Promise<void> {
    const { affected } = await this.ds.getRepository(Webhook).delete({ id: Number(id) });
    if (!affected) throw notFound('Webhook', id);
  }

  list(ctx: RequestContext, page: PageArgs) {
    return keysetPage(ctx.cursors, this.ds.getRepository(Webhook).createQueryBuilder('w'), page);
  }

  async deliveries(ctx: RequestContext, webhookId: string, page: PageArgs) {
    if (!(await this.ds.getRepository(Webhook).existsBy({ id: Number(webhookId) }))) {
      throw notFound('Webhook', webhookId);
    }
    return keysetPage(
      ctx.cursors,
      this.ds
        .getRepository(WebhookDelivery)
        .createQueryBuilder('d')
        .where('d.webhook_id = :webhookId', { webhookId: Number(webhookId) }),
      page,
    );
  }
}
