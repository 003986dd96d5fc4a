import {
  Column,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  Unique,
} from 'typeorm';
import type { Relation } from 'typeorm';
import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { GraphQLJSONObject } from 'graphql-scalars';
import { BaseRow, Node } from '../../common/db/base.entity';
import { toGlobalId } from '../../common/ids';
import { Webhook, WebhookEvent } from './webhook.entity';

export enum WebhookDeliveryStatus {
  PENDING = 'PENDING',
  DELIVERED = 'DELIVERED',
  FAILED = 'FAILED',
}
registerEnumType(WebhookDeliveryStatus, {
  name: 'WebhookDeliveryStatus',
  description: 'PENDING until a 2xx answer (DELIVERED) or the last attempt failed (FAILED).',
});

/**
 * One event for one hook, and how its delivery went. `sourceKey` names the event (a run's
 * STATUS event, a curriculum's state), so the same event is never queued twice for a hook,
 * whichever process or restart notices it.
 */
@ObjectType({ implements: Node })
@Entity('webhook_deliveries')
@Unique('uq_webhook_deliveries_source', ['webhookId', 'sourceKey'])
@Index('ix_webhook_deliveries_status', ['status'])
export class WebhookDelivery extends BaseRow {
  @PrimaryGeneratedColumn()
  id!: number;

  @ManyToOne(() => Webhook, { nullable: false, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'webhook_id' })
  webhook?: Relation<Webhook>;

  @Column({ type: 'integer' })
  webhookId!: number;

  @Field(() => ID, { name: 'webhookId' })
  get webhookGlobalId(): string {
    return toGlobalId('Webhook', this.webhookId);
  }

  @Field(() => WebhookEvent)
  @Column({ type: 'enum', enum: WebhookEvent, enumName: 'webhook_delivery_event' })
  eventType!: WebhookEvent;

  @Column({ type: 'text' })
  sourceKey!: string;

  @Field(() => GraphQLJSONObject, { description: 'The JSON body POSTed (the same every attempt).' })
  @Column({ type: 'jsonb' })
  payload!: Record<string, unknown>;

  @Field(() => WebhookDeliveryStatus)
  @Column({
    type: 'enum',
    enum: WebhookDeliveryStatus,
    enumName: 'webhook_delivery_status',
    default: WebhookDeliveryStatus.PENDING,
  })
  status!: WebhookDeliveryStatus;

  @Field(() => Int)
  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  @Field(() => Int, { nullable: true, description: "The last attempt's HTTP status." })
  @Column({ type: 'integer', nullable: true })
  statusCode!: number | null;

  @Field(() => String, { nullable: true, description: 'Why the last attempt failed.' })
  @Column({ type: 'text', nullable: true })
  error!: string | null;

  @Field(() => Date, { nullable: true, description: 'The next attempt, not before this time.' })
  @Column({ type: 'timestamptz', nullable: true })
  nextAttemptAt!: Date | null;

  @Field(() => Date, { nullable: true })
  @Column({ type: 'timestamptz', nullable: true })
  deliveredAt!: Date | null;
}
