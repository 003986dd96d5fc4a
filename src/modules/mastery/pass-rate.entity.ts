import {
  Column,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  Unique,
  UpdateDateColumn,
} from 'typeorm';
import type { Relation } from 'typeorm';
import { Field, Float, Int, ObjectType } from 'type-graphql';
import { BaseRow, Node } from '../../common/db/base.entity';
import { Sample } from '../samples/sample.entity';
import { Checkpoint } from '../checkpoints/checkpoint.entity';

/** How well one checkpoint solves one sample: graded attempts, successes, Wilson 95% interval. */
@ObjectType({ implements: Node })
@Entity('pass_rates')
@Unique('uq_pass_rates_sample_checkpoint', ['sampleId', 'checkpointId'])
@Index('ix_pass_rates_checkpoint_rate', ['checkpointId', 'rate'])
export class PassRate extends BaseRow {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @ManyToOne(() => Sample, { nullable: false, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'sample_id' })
  sample?: Relation<Sample>;

  @Column({ type: 'bigint' })
  sampleId!: string;

  @ManyToOne(() => Checkpoint, { nullable: false, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'checkpoint_id' })
  checkpoint?: Relation<Checkpoint>;

  @Column({ type: 'integer' })
  checkpointId!: number;

  @Field(() => Int)
  @Column({ type: 'integer' })
  attempts!: number;

  @Field(() => Int)
  @Column({ type: 'integer' })
  successes!: number;

  @Field(() => Float)
  @Column({ type: 'double precision' })
  rate!: number;

  @Field(() => Float)
  @Column({ type: 'double precision' })
  wilsonLow!: number;

  @Field(() => Float)
  @Column({ type: 'double precision' })
  wilsonHigh!: number;

  @Field(() => String, { nullable: true })
  @Column({ type: 'text', nullable: true })
  graderVersion!: string | null;

  @Field()
  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
