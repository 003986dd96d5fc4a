import { Arg, Args, Ctx, Extensions, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../common/request-context';
import { ConnectionType, PageArgs, asConnection } from '../../common/pagination';
import { idOf } from '../../common/ids';
import { Webhook } from './webhook.entity';
import { WebhookDelivery } from './webhook-delivery.entity';
import {
  CreateWebhookInput,
  CreatedWebhook,
  UpdateWebhookInput,
  WebhookDeliveriesArgs,
} from './webhook.inputs';
import type { WebhookService } from './webhook.service';

export const WebhookConnection = ConnectionType(Webhook);
export const WebhookDeliveryConnection = ConnectionType(WebhookDelivery);

/** Webhook registration and the delivery log: ADMIN only (see the scope guard). */
@Resolver(() => Webhook)
export class WebhookResolver {
  constructor(private readonly webhookService: WebhookService) {}

  @Query(() => WebhookConnection)
  @Extensions({ scope: 'ADMIN' })
  async webhooks(@Ctx() ctx: RequestContext, @Args() page: PageArgs) {
    return asConnection(WebhookConnection, await this.webhookService.list(ctx, page));
  }

  @Query(() => WebhookDeliveryConnection, {
    description: "A webhook's deliveries, oldest first, with attempts and the last outcome.",
  })
  @Extensions({ scope: 'ADMIN' })
  async webhookDeliveries(@Ctx() ctx: RequestContext, @Args() args: WebhookDeliveriesArgs) {
    const page = await this.webhookService.deliveries(ctx, idOf('Webhook', args.webhookId), args);
    return asConnection(WebhookDeliveryConnection, page);
  }

  @Mutation(() => CreatedWebhook)
  @Extensions({ scope: 'ADMIN' })
  createWebhook(@Ctx() ctx: RequestContext, @Arg('input') input: CreateWebhookInput) {
    return this.webhookService.create(ctx, input);
  }

  @Mutation(() => Webhook)
  @Extensions({ scope: 'ADMIN' })
  updateWebhook(
    @Ctx() ctx: RequestContext,
    @Arg('id', () => ID) id: string,
    @Arg('input') input: UpdateWebhookInput,
  ) {
    return this.webhookService.update(ctx, idOf('Webhook', id), input);
  }

  @Mutation(() => ID, { description: 'Deletes the hook and its delivery log.' })
  @Extensions({ scope: 'ADMIN' })
  async deleteWebhook(@Ctx() ctx: RequestContext, @Arg('id', () => ID) id: string) {
    await this.webhookService.delete(ctx, idOf('Webhook', id));
    return id;
  }
}
