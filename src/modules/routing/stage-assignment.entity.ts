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
import { Field, Float, Int, ObjectType, registerEnumType } from 'type-graphql';
import { BaseRow, Node } from '../../common/db/base.entity';
import { Curriculum } from '../curricula/curriculum.entity';
import { Sample } from '../samples/sample.entity';
import { RoutingPolicy } from './routing-policy.entity';
import { Checkpoint } from '../checkpoints/checkpoint.entity';

export enum AssignmentStage {
  SFT = 'SFT',
  RL = 'RL',
  CRITIQUE = 'CRITIQUE',
  REPLAY = 'REPLAY',
  DROPPED = 'DROPPED',
}
registerEnumType(AssignmentStage, {
  name: 'AssignmentStage',
  description: 'The training stage a sample is routed to in one round.',
});

/** A sample's stage in one round of a curriculum, with the evidence it was routed on. */
@ObjectType({ implements: Node })
@Entity('stage_assignments')
@Unique('uq_stage_assignments_round_sample', ['curriculumId', 'round', 'sampleId'])
@Index('ix_stage_assignments_round_stage', ['curriculumId', 'round', 'stage', 'sampleId'])
@Index('ix_stage_assignments_sample', ['sampleId'])
export class StageAssignment extends BaseRow {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @ManyToOne(() => Curriculum, { nullable: false, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'curriculum_id' })
  curriculum?: Relation<Curriculum>;

  @Column({ type: 'integer' })
  curriculumId!: number;

  @Field(() => Int)
  @Column({ type: 'integer' })
  round!: number;

  @ManyToOne(() => Sample, { nullable: false, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'sample_id' })
  sample?: Relation<Sample>;

  @Column({ type: 'bigint' })
  sampleId!: string;

  @Field(() => AssignmentStage)
  @Column({ type: 'enum', enum: AssignmentStage, enumName: 'assignment_stage' })
  stage!: AssignmentStage;

  @ManyToOne(() => RoutingPolicy, { nullable: false, onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'policy_id' })
  policy?: Relation<RoutingPolicy>;

  @Column({ type: 'integer' })
  policyId!: number;

  @ManyToOne(() => Checkpoint, { nullable: false, onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'checkpoint_id' })
  checkpoint?: Relation<Checkpoint>;

  @Column({ type: 'integer' })
  checkpointId!: number;

  @Field(() => Float, { nullable: true, description: 'Pass rate the routing saw.' })
  @Column({ type: 'double precision', nullable: true })
  passRate!: number | null;

  @Field(() => Int, { nullable: true, description: 'Graded attempts behind that pass rate.' })
  @Column({ type: 'integer', nullable: true })
  attempts!: number | null;

  @Field({ description: 'Why the sample is in this stage, in words.' })
  @Column({ type: 'text' })
  reason!: string;
}
