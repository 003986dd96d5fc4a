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
import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';
import { GraphQLJSONObject } from 'graphql-scalars';
import { BaseRow, Node } from '../../common/db/base.entity';
import { Checkpoint } from '../checkpoints/checkpoint.entity';
import { Manifest } from '../manifests/manifest.entity';
// By name, not by class: a curriculum names its current run, and entity files must not import
// in a circle (the import-boundary rule, .dependency-cruiser.cjs).
import type { Curriculum } from '../curricula/curriculum.entity';

export enum RunStage {
  PROBE = 'PROBE',
  BRIDGE = 'BRIDGE',
  SFT = 'SFT',
  RL = 'RL',
  CRITIQUE = 'CRITIQUE',
  EVAL = 'EVAL',
}
registerEnumType(RunStage, { name: 'RunStage', description: 'The kind of job a run is.' });

export enum RunStatus {
  QUEUED = 'QUEUED',
  STARTING = 'STARTING',
  RUNNING = 'RUNNING',
  CANCELLING = 'CANCELLING',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
  CANCELLED = 'CANCELLED',
}
registerEnumType(RunStatus, {
  name: 'RunStatus',
  description: 'QUEUED -> STARTING -> RUNNING -> SUCCEEDED | FAILED | CANCELLED (via CANCELLING).',
});

/** One job of one stage, launched somewhere (local process, Slurm, Kubernetes). */
@ObjectType({ implements: Node })
@Entity('runs')
@Index('ix_runs_status', ['status', 'id'])
@Index('ix_runs_stage', ['stage', 'id'])
@Index('ix_runs_curriculum', ['curriculumId', 'round'])
export class Run extends BaseRow {
  @PrimaryGeneratedColumn()
  id!: number;

  @Field(() => RunStage)
  @Column({ type: 'enum', enum: RunStage, enumName: 'run_stage' })
  stage!: RunStage;

  @Field(() => RunStatus)
  @Column({ type: 'enum', enum: RunStatus, enumName: 'run_status', default: RunStatus.QUEUED })
  status!: RunStatus;

  @Field(() => GraphQLJSONObject, { description: 'The stage config, as validated.' })
  @Column({ type: 'jsonb', default: () => "'{}'" })
  config!: Record<string, unknown>;

  @ManyToOne(() => Checkpoint, { nullable: true, onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'input_checkpoint_id' })
  inputCheckpoint?: Relation<Checkpoint>;

  @Column({ type: 'integer', nullable: true })
  inputCheckpointId!: number | null;

  @ManyToOne(() => Checkpoint, { nullable: true, onDelete: 'SET NULL' })
  @JoinColumn({ name: 'output_checkpoint_id' })
  outputCheckpoint?: Relation<Checkpoint>;

  @Column({ type: 'integer', nullable: true })
  outputCheckpointId!: number | null;

  @ManyToOne(() => Manifest, { nullable: true, onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'manifest_id' })
  manifest?: Relation<Manifest>;

  @Column({ type: 'integer', nullable: true })
  manifestId!: number | null;

  @Field()
  @Column({ type: 'text', default: 'local' })
  launcher!: string;

  @Field(() => String, {
    nullable: true,
    description: "The launcher's id: pid, Slurm job id, Job name.",
  })
  @Column({ type: 'text', nullable: true })
  externalId!: string | null;

  @Field(() => Date, { nullable: true })
  @Column({ type: 'timestamptz', nullable: true })
  heartbeatAt!: Date | null;

  @Field(() => GraphQLJSONObject, { nullable: true, description: 'step, totalSteps, etaSeconds.' })
  @Column({ type: 'jsonb', nullable: true })
  progress!: Record<string, unknown> | null;

  @Field(() => GraphQLJSONObject, { description: 'Latest value of each metric.' })
  @Column({ type: 'jsonb', default: () => "'{}'" })
  metrics!: Record<string, unknown>;

  @Field(() => String, { nullable: true })
  @Column({ type: 'text', nullable: true })
  error!: string | null;

  @Field(() => Int, { nullable: true })
  @Column({ type: 'integer', nullable: true })
  exitCode!: number | null;

  @Field(() => String, {
    nullable: true,
    description: 'The signal that ended the runner, if one did.',
  })
  @Column({ type: 'text', nullable: true })
  exitSignal!: string | null;

  @Field(() => Date, { nullable: true, description: 'When a cancel was asked for.' })
  @Column({ type: 'timestamptz', nullable: true })
  cancelRequestedAt!: Date | null;

  /** The last seq handed out for this run's events; the next event gets lastSeq + 1. */
  @Column({ type: 'integer', default: 0 })
  lastSeq!: number;

  @ManyToOne('Curriculum', { nullable: true, onDelete: 'SET NULL' })
  @JoinColumn({ name: 'curriculum_id' })
  curriculum?: Relation<Curriculum>;

  @Column({ type: 'integer', nullable: true })
  curriculumId!: number | null;

  @Field(() => Int, { nullable: true })
  @Column({ type: 'integer', nullable: true })
  round!: number | null;

  @Field(() => Int, { description: '1 for a first run; a retry is the next attempt.' })
  @Column({ type: 'integer', default: 1 })
  attempt!: number;

  @ManyToOne(() => Run, { nullable: true, onDelete: 'SET NULL' })
  @JoinColumn({ name: 'retry_of_id' })
  retryOf?: Relation<Run>;

  @Column({ type: 'integer', nullable: true })
  retryOfId!: number | null;

  @Field(() => Date, { nullable: true })
  @Column({ type: 'timestamptz', nullable: true })
  startedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  @Column({ type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;

  @Field()
  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;

  /**
   * When the run's event log was closed: the run has ended and everything its launcher had to
   * store after the process ended (its last output lines) is stored. No event follows it.
   */
  @Column({ type: 'timestamptz', nullable: true })
  eventsClosedAt!: Date | null;

  @Field({
    description:
      'True once the run has ended and its event log is closed: no event will be added. ' +
      'A runEvents stream completes only then, so a live stream and a replay are identical.',
  })
  get eventsComplete(): boolean {
    return this.eventsClosedAt !== null;
  }
}
