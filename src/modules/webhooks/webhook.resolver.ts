import { Arg, Args, Ctx, Extensions, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../app/context';
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

export const WebhookConnection = ConnectionType(Webhook);
export const WebhookDeliveryConnection = ConnectionType(WebhookDelivery);

/** Webhook registration and the delivery log: ADMIN only (see the scope guard). */
@Resolver(() => Webhook)
export class WebhookResolver {
  @Query(() => WebhookConnection)
  @Extensions({ scope: 'ADMIN' })
  async webhooks(@Ctx() ctx: RequestContext, @Args() page: PageArgs) {
    return asConnection(WebhookConnection, await ctx.services.webhooks.list(ctx, page));
  }

  @Query(() => WebhookDeliveryConnection, {
    description: "A webhook's deliveries, oldest first, with attempts and the last outcome.",
  })
  @Extensions({ scope: 'ADMIN' })
  async webhookDeliveries(@Ctx() ctx: RequestContext, @Args() args: WebhookDeliveriesArgs) {
    const page = await ctx.services.webhooks.deliveries(ctx, idOf('Webhook', args.webhookId), args);
    return asConnection(WebhookDeliveryConnection, page);
  }

  @Mutation(() => CreatedWebhook)
  @Extensions({ scope: 'ADMIN' })
  createWebhook(@Ctx() ctx: RequestContext, @Arg('input') input: CreateWebhookInput) {
    return ctx.services.webhooks.create(ctx, input);
  }

  @Mutation(() => Webhook)
  @Extensions({ scope: 'ADMIN' })
  updateWebhook(
    @Ctx() ctx: RequestContext,
    @Arg('id', () => ID) id: string,
    @Arg('input') input: UpdateWebhookInput,
  ) {
    return ctx.services.webhooks.update(ctx, idOf('Webhook', id), input);
  }

  @Mutation(() => ID, { description: 'Deletes the hook and its delivery log.' })
  @Extensions({ scope: 'ADMIN' })
  async deleteWebhook(@Ctx() ctx: RequestContext, @Arg('id', () => ID) id: string) {
    await ctx.services.webhooks.delete(ctx, idOf('Webhook', id));
    return id;
  }
}
