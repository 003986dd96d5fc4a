import { Column, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { Field, ObjectType, registerEnumType } from 'type-graphql';
import { BaseRow, Node } from '../../common/db/base.entity';

export enum WebhookEvent {
  RUN_STATUS = 'RUN_STATUS',
  CURRICULUM_UPDATED = 'CURRICULUM_UPDATED',
}
registerEnumType(WebhookEvent, {
  name: 'WebhookEvent',
  description: 'RUN_STATUS: a run moved status. CURRICULUM_UPDATED: phase, round or status.',
});

/**
 * An internal tool's URL that is told about run and curriculum events: each delivery a signed
 * POST (HMAC-SHA256 of the body with the hook's secret), retried with backoff, logged.
 */
@ObjectType({ implements: Node })
@Entity('webhooks')
export class Webhook extends BaseRow {
  @PrimaryGeneratedColumn()
  id!: number;

  @Field()
  @Column({ type: 'text' })
  url!: string;

  @Field(() => [WebhookEvent])
  @Column({ type: 'enum', enum: WebhookEvent, enumName: 'webhook_event', array: true })
  events!: WebhookEvent[];

  @Field(() => String, { nullable: true })
  @Column({ type: 'text', nullable: true })
  description!: string | null;

  /** Kept in clear: the server signs with it. Shown once at creation, never again. */
  @Column({ type: 'text' })
  secret!: string;

  @Field({ description: 'Inactive hooks get no new deliveries.' })
  @Column({ type: 'boolean', default: true })
  active!: boolean;

  @Field()
  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
