import {
  Column,
  Entity,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  Unique,
  UpdateDateColumn,
} from 'typeorm';
import type { Relation } from 'typeorm';
import { Field, Int, ObjectType } from 'type-graphql';
import { GraphQLJSONObject } from 'graphql-scalars';
import { Curriculum } from './curriculum.entity';
import { Checkpoint } from '../checkpoints/checkpoint.entity';

/**
 * One round of a curriculum: the checkpoint it started from, the ones its SFT and RL runs
 * produced, and its figures (samples per stage, moves, bridge and critique yields, accuracy).
 */
@ObjectType()
@Entity('curriculum_rounds')
@Unique('uq_curriculum_rounds_round', ['curriculumId', 'round'])
export class CurriculumRound {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'integer' })
  curriculumId!: number;

  @Field(() => Int)
  @Column({ type: 'integer' })
  round!: number;

  @ManyToOne(() => Curriculum, { nullable: false, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'curriculum_id' })
  curriculum?: Relation<Curriculum>;

  @ManyToOne(() => Checkpoint, { nullable: false, onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'start_checkpoint_id' })
  startCheckpoint?: Relation<Checkpoint>;

  @Column({ type: 'integer' })
  startCheckpointId!: number;

  @ManyToOne(() => Checkpoint, { nullable: true, onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'sft_checkpoint_id' })
  sftCheckpoint?: Relation<Checkpoint>;

  @Column({ type: 'integer', nullable: true })
  sftCheckpointId!: number | null;

  @ManyToOne(() => Checkpoint, { nullable: true, onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'end_checkpoint_id' })
  endCheckpoint?: Relation<Checkpoint>;

  @Column({ type: 'integer', nullable: true })
  endCheckpointId!: number | null;

  @Field(() => GraphQLJSONObject, {
    description:
      'Figures of the round: samplesPerStage, moved, unrouted, bridge, critiques, evalAccuracy (its end checkpoint), sftEvalAccuracy (its SFT checkpoint, where RL ran after it), baseEvalAccuracy.',
  })
  @Column({ type: 'jsonb', default: () => "'{}'" })
  stats!: Record<string, unknown>;

  @Field()
  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
