import {
  Column,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import type { Relation } from 'typeorm';
import { Field, Float, Int, ObjectType, registerEnumType } from 'type-graphql';
import { BaseRow, Node } from '../../common/db/base.entity';
import { Checkpoint } from '../checkpoints/checkpoint.entity';
import { RoutingPolicy } from '../routing/routing-policy.entity';
import { Run } from '../runs/run.entity';
import { GraphQLJSONObject } from 'graphql-scalars';

export enum CurriculumStatus {
  ACTIVE = 'ACTIVE',
  PAUSED = 'PAUSED',
  SUCCEEDED = 'SUCCEEDED',
  CANCELLED = 'CANCELLED',
}
registerEnumType(CurriculumStatus, { name: 'CurriculumStatus' });

export enum CurriculumPhase {
  PENDING = 'PENDING',
  PROBE = 'PROBE',
  ROUTE = 'ROUTE',
  BRIDGE = 'BRIDGE',
  SFT = 'SFT',
  REPROBE = 'REPROBE',
  RL = 'RL',
  CRITIQUE = 'CRITIQUE',
  EVAL = 'EVAL',
  DONE = 'DONE',
}
registerEnumType(CurriculumPhase, {
  name: 'CurriculumPhase',
  description:
    'Where a round stands: probe, route, bridge, SFT, re-probe, RL, critique; then EVAL.',
});

/** A part of the method a curriculum leaves out (the experiments' ablation arms). */
export enum CurriculumAblation {
  NO_BRIDGE = 'NO_BRIDGE',
  NO_CRITIQUE = 'NO_CRITIQUE',
  NO_ROUTING_RL = 'NO_ROUTING_RL',
}
registerEnumType(CurriculumAblation, {
  name: 'CurriculumAblation',
  description:
    'NO_BRIDGE: SFT on the raw teacher traces, no bridge step; NO_CRITIQUE: no critique step (and no critique data in the next SFT); NO_ROUTING_RL: RL on every TRAIN problem instead of the partly-solved band.',
});

/** The multi-round loop: probe, route, bridge, SFT, probe, RL, critique, next round, evaluate. */
@ObjectType({ implements: Node })
@Entity('curricula')
@Index('ix_curricula_status', ['status'])
export class Curriculum extends BaseRow {
  @PrimaryGeneratedColumn()
  id!: number;

  @Field()
  @Column({ type: 'text', unique: true })
  name!: string;

  @ManyToOne(() => Checkpoint, { nullable: false, onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'base_checkpoint_id' })
  baseCheckpoint?: Relation<Checkpoint>;

  @Column({ type: 'integer' })
  baseCheckpointId!: number;

  @ManyToOne(() => RoutingPolicy, { nullable: false, onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'policy_id' })
  policy?: Relation<RoutingPolicy>;

  @Column({ type: 'integer' })
  policyId!: number;

  @Field(() => Int)
  @Column({ type: 'integer' })
  rounds!: number;

  @Field(() => Int, { description: '1-based; 0 before the first round starts.' })
  @Column({ type: 'integer', default: 0 })
  currentRound!: number;

  @Field(() => CurriculumPhase)
  @Column({
    type: 'enum',
    enum: CurriculumPhase,
    enumName: 'curriculum_phase',
    default: CurriculumPhase.PENDING,
  })
  phase!: CurriculumPhase;

  @Field(() => CurriculumStatus)
  @Column({
    type: 'enum',
    enum: CurriculumStatus,
    enumName: 'curriculum_status',
    default: CurriculumStatus.ACTIVE,
  })
  status!: CurriculumStatus;

  @Field(() => String, { nullable: true, description: 'Why it is paused, when it is.' })
  @Column({ type: 'text', nullable: true })
  pauseReason!: string | null;

  @Field()
  @Column({ type: 'text', default: 'local' })
  launcher!: string;

  @Field(() => GraphQLJSONObject, {
    description: 'Config per run stage (PROBE, BRIDGE, SFT, RL, CRITIQUE, EVAL) for its runs.',
  })
  @Column({ type: 'jsonb', default: () => "'{}'" })
  stageConfigs!: Record<string, Record<string, unknown>>;

  @Field(() => Float, {
    nullable: true,
    description:
      'Tokens through the model the whole curriculum may use (probes, SFT, RL; forward-only at 1/3): when set, each round gets an equal part, its SFT half of what its probes leave and its RL the rest, steps sized to fit. Null: the stage configs decide.',
  })
  @Column({ type: 'double precision', nullable: true })
  computeBudget!: number | null;

  @Field(() => [CurriculumAblation])
  @Column({ type: 'text', array: true, default: () => "'{}'" })
  ablations!: CurriculumAblation[];

  @Field({ description: 'Advance on its own as each step ends (else advanceCurriculum).' })
  @Column({ type: 'boolean', default: true })
  autoAdvance!: boolean;

  @ManyToOne(() => Run, { nullable: true, onDelete: 'SET NULL' })
  @JoinColumn({ name: 'current_run_id' })
  currentRun?: Relation<Run>;

  /** The run the current phase waits for; null while a set-based step runs or none is due. */
  @Column({ type: 'integer', nullable: true })
  currentRunId!: number | null;

  @Field()
  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
