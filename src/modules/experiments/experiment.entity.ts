import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { UpdateDateColumn } from 'typeorm';
import type { Relation } from 'typeorm';
import { Field, Float, Int, ObjectType, registerEnumType } from 'type-graphql';
import { GraphQLJSONObject } from 'graphql-scalars';
import { BaseRow, Node } from '../../common/db/base.entity';
import { Checkpoint } from '../checkpoints/checkpoint.entity';
import { RoutingPolicy } from '../routing/routing-policy.entity';

/** The recipes an experiment compares; each is a sequence of runs the engine knows. */
export enum ExperimentArm {
  STAGEWISE = 'STAGEWISE',
  SFT_ALL = 'SFT_ALL',
  DISTILL_RAW = 'DISTILL_RAW',
  RL_ONLY = 'RL_ONLY',
  SFT_THEN_RL = 'SFT_THEN_RL',
  NO_BRIDGE = 'NO_BRIDGE',
  NO_CRITIQUE = 'NO_CRITIQUE',
  NO_ROUTING_RL = 'NO_ROUTING_RL',
}
registerEnumType(ExperimentArm, {
  name: 'ExperimentArm',
  description:
    'STAGEWISE: the method, a curriculum per seed (probe, route, bridge, SFT, re-probe, RL on the partly solved, critique; rounds) at the whole budget; NO_BRIDGE, NO_CRITIQUE, NO_ROUTING_RL: the same less one part; SFT_ALL: SFT on every training problem (bridged trace where one exists, else the most explicit teacher trace); DISTILL_RAW: SFT on the tersest (raw) teacher traces; RL_ONLY: GRPO on every problem from the base; SFT_THEN_RL: both in turn.',
});

export enum ExperimentStatus {
  ACTIVE = 'ACTIVE',
  PAUSED = 'PAUSED',
  SUCCEEDED = 'SUCCEEDED',
  CANCELLED = 'CANCELLED',
}
registerEnumType(ExperimentStatus, { name: 'ExperimentStatus' });

/** Accuracy of one arm on one difficulty level, averaged over seeds. */
@ObjectType()
export class LevelAccuracy {
  @Field(() => Int)
  level!: number;

  @Field(() => Float)
  accuracy!: number;
}

/** One arm's results: accuracy over seeds with its 95% t-interval, compute, paired test. */
@ObjectType()
export class ArmResult {
  @Field(() => ExperimentArm)
  arm!: ExperimentArm;

  @Field(() => Int, { description: 'Seeds whose EVAL run succeeded.' })
  seedsDone!: number;

  @Field(() => [Float], { description: 'Held-out greedy accuracy of each finished seed.' })
  accuracies!: number[];

  @Field(() => Float, { nullable: true })
  meanAccuracy!: number | null;

  @Field(() => Float, { nullable: true, description: '95% t-interval over seeds (null: <2).' })
  ciLow!: number | null;

  @Field(() => Float, { nullable: true })
  ciHigh!: number | null;

  @Field(() => [LevelAccuracy])
  levels!: LevelAccuracy[];

  @Field(() => Float, {
    description:
      'Tokens through the model as the runner measured them (compute/tokens; the planned figure where a run does not report it), mean over seeds: training fwd+bwd, generated, forward-only at 1/3.',
  })
  computeUsed!: number;

  @Field(() => Float, {
    description:
      'Tokens its training steps were sized to, mean over seeds: the budget less at most one step; for a method arm (a curriculum sized as it goes), the budget.',
  })
  computePlanned!: number;

  @Field(() => Float, {
    nullable: true,
    description:
      'Exact McNemar p-value of the best arm against this one over the same eval problems, seed paired with seed; null for the best arm itself.',
  })
  pValueVsBest!: number | null;

  @Field(() => Float, {
    nullable: true,
    description:
      'Exact McNemar p-value of STAGEWISE against this arm, as pValueVsBest; null for STAGEWISE itself and when it is not among the arms.',
  })
  pValueVsStagewise!: number | null;
}

/** Several training recipes from one base checkpoint, on the same problems, at equal compute. */
@ObjectType({ implements: Node })
@Entity('experiments')
@Index('ix_experiments_status', ['status'])
export class Experiment extends BaseRow {
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

  @Column({ type: 'integer', array: true })
  trainDatasetIds!: number[];

  @Column({ type: 'integer', array: true })
  evalDatasetIds!: number[];

  @Field(() => [ExperimentArm])
  @Column({ type: 'text', array: true })
  armNames!: ExperimentArm[];

  @Field(() => Int)
  @Column({ type: 'integer' })
  seeds!: number;

  @ManyToOne(() => RoutingPolicy, { nullable: true, onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'policy_id' })
  policy?: Relation<RoutingPolicy>;

  /** The routing policy of the method arms' curricula (null when the experiment has none). */
  @Column({ type: 'integer', nullable: true })
  policyId!: number | null;

  @Field(() => Int, { description: "Rounds of the method arms' curricula." })
  @Column({ type: 'integer', default: 2 })
  rounds!: number;

  @Field(() => Float, { description: 'Tokens through the model each arm may use, per seed.' })
  @Column({ type: 'double precision' })
  computeBudget!: number;

  @Field()
  @Column({ type: 'text', default: 'local' })
  launcher!: string;

  @Field(() => GraphQLJSONObject, { description: 'Config per run stage for its runs.' })
  @Column({ type: 'jsonb', default: () => "'{}'" })
  stageConfigs!: Record<string, Record<string, unknown>>;

  @Field(() => ExperimentStatus)
  @Column({
    type: 'enum',
    enum: ExperimentStatus,
    enumName: 'experiment_status',
    default: ExperimentStatus.ACTIVE,
  })
  status!: ExperimentStatus;

  @Field(() => String, { nullable: true })
  @Column({ type: 'text', nullable: true })
  pauseReason!: string | null;

  @Field()
  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
