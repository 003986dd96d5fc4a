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
import { BaseRow, Node } from '../../common/db/base.entity';
import { Sample } from '../samples/sample.entity';
import { Trace } from '../traces/trace.entity';
import { Run } from '../runs/run.entity';

export enum CritiqueVerdict {
  WRONG_STEP = 'WRONG_STEP',
  WRONG_FINAL_ANSWER = 'WRONG_FINAL_ANSWER',
  NO_ANSWER = 'NO_ANSWER',
  CORRECT = 'CORRECT',
}
registerEnumType(CritiqueVerdict, { name: 'CritiqueVerdict' });

/** A teacher's diagnosis of one failed rollout, with a repair and a fresh solution. */
@ObjectType({ implements: Node })
@Entity('critiques')
@Index('ix_critiques_sample', ['sampleId'])
@Index('ix_critiques_failed_trace', ['failedTraceId'])
@Index('ix_critiques_run', ['runId', 'id'])
@Unique('uq_critiques_run_failed_trace', ['runId', 'failedTraceId'])
export class Critique extends BaseRow {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @ManyToOne(() => Sample, { nullable: false, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'sample_id' })
  sample?: Relation<Sample>;

  @Column({ type: 'bigint' })
  sampleId!: string;

  @ManyToOne(() => Trace, { nullable: false, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'failed_trace_id' })
  failedTrace?: Relation<Trace>;

  @Column({ type: 'bigint' })
  failedTraceId!: string;

  @Field({ description: 'Where the rollout first goes wrong, and why.' })
  @Column({ type: 'text' })
  diagnosis!: string;

  @Field(() => CritiqueVerdict)
  @Column({ type: 'enum', enum: CritiqueVerdict, enumName: 'critique_verdict' })
  verdict!: CritiqueVerdict;

  @ManyToOne(() => Trace, { nullable: true, onDelete: 'SET NULL' })
  @JoinColumn({ name: 'repair_trace_id' })
  repairTrace?: Relation<Trace>;

  @Column({ type: 'bigint', nullable: true })
  repairTraceId!: string | null;

  @ManyToOne(() => Trace, { nullable: true, onDelete: 'SET NULL' })
  @JoinColumn({ name: 'solution_trace_id' })
  solutionTrace?: Relation<Trace>;

  @Column({ type: 'bigint', nullable: true })
  solutionTraceId!: string | null;

  @Field(() => Int, {
    nullable: true,
    description: 'Number (from 1) of the first wrong step of the failed rollout, when known.',
  })
  @Column({ type: 'integer', nullable: true })
  firstWrongStep!: number | null;

  @Field({ description: 'Both the repair and the solution grade correct.' })
  @Column({ type: 'boolean', default: false })
  verified!: boolean;

  @Field({ description: 'Model or program that wrote the critique.' })
  @Column({ type: 'text' })
  teacher!: string;

  @ManyToOne(() => Run, { nullable: true, onDelete: 'SET NULL' })
  @JoinColumn({ name: 'run_id' })
  run?: Relation<Run>;

  @Column({ type: 'integer', nullable: true })
  runId!: number | null;
}
