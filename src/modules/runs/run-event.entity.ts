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
import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';
import { GraphQLJSONObject } from 'graphql-scalars';
import { BaseRow, Node } from '../../common/db/base.entity';
import { Run } from './run.entity';

export enum RunEventType {
  STATUS = 'STATUS',
  PROGRESS = 'PROGRESS',
  METRIC = 'METRIC',
  LOG = 'LOG',
  ARTIFACT = 'ARTIFACT',
}
registerEnumType(RunEventType, { name: 'RunEventType' });

/** Something a run reported, stored once per (run, seq) however often it is resent. */
@ObjectType({ implements: Node })
@Entity('run_events')
@Unique('uq_run_events_run_seq', ['runId', 'seq'])
@Index('uq_run_events_run_runner_seq', ['runId', 'runnerSeq'], {
  unique: true,
  where: 'runner_seq IS NOT NULL',
})
export class RunEvent extends BaseRow {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @ManyToOne(() => Run, { nullable: false, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'run_id' })
  run?: Relation<Run>;

  @Column({ type: 'integer' })
  runId!: number;

  @Field(() => Int, { description: 'Position in the run, from 1, without gaps.' })
  @Column({ type: 'integer' })
  seq!: number;

  @Field(() => Int, {
    nullable: true,
    description: "The runner's own counter (idempotency key); null for the API's own events.",
  })
  @Column({ type: 'integer', nullable: true })
  runnerSeq!: number | null;

  @Field(() => RunEventType)
  @Column({ type: 'enum', enum: RunEventType, enumName: 'run_event_type' })
  type!: RunEventType;

  @Field(() => GraphQLJSONObject)
  @Column({ type: 'jsonb', default: () => "'{}'" })
  payload!: Record<string, unknown>;

  @Field({ description: 'When the reporter says it happened.' })
  @Column({ type: 'timestamptz', default: () => 'now()' })
  at!: Date;
}
