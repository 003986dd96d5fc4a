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
import { GraphQLJSONObject } from 'graphql-scalars';
import { BaseRow, Node } from '../../common/db/base.entity';
import { Sample } from '../samples/sample.entity';
import { Run } from '../runs/run.entity';
import { readsSelectedOnly } from '../../common/db/plain-rows';

export enum TraceKind {
  TEACHER = 'TEACHER',
  ROLLOUT = 'ROLLOUT',
  BRIDGED = 'BRIDGED',
  REPAIR = 'REPAIR',
  SOLUTION = 'SOLUTION',
}
registerEnumType(TraceKind, {
  name: 'TraceKind',
  description:
    'TEACHER: a reference solution; ROLLOUT: sampled from a student; BRIDGED: rewritten for the student; REPAIR / SOLUTION: written from a critique.',
});

/** Any text produced about a sample, with its grade and lineage. The big table. */
@ObjectType({ implements: Node })
@Entity('traces')
@Unique('uq_traces_sample_external_id', ['sampleId', 'externalId'])
@Index('ix_traces_sample', ['sampleId', 'id'])
@Index('ix_traces_run', ['runId', 'id'])
@Index('ix_traces_kind', ['kind', 'id'])
@Index('ix_traces_producer', ['producer', 'id'])
@Index('ix_traces_parent', ['parentTraceId'])
export class Trace extends BaseRow {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @ManyToOne(() => Sample, { nullable: false, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'sample_id' })
  sample?: Relation<Sample>;

  @Column({ type: 'bigint' })
  sampleId!: string;

  @Field({
    description:
      'Idempotency key, unique per sample. Imports without one get a hash of kind, producer and text.',
  })
  @Column({ type: 'text' })
  externalId!: string;

  @Field(() => TraceKind)
  @Column({ type: 'enum', enum: TraceKind, enumName: 'trace_kind' })
  kind!: TraceKind;

  @Field()
  @Column({ type: 'text' })
  text!: string;

  @Field(() => String, { nullable: true })
  @Column({ type: 'text', nullable: true })
  finalAnswer!: string | null;

  @Field(() => Boolean, { nullable: true, description: 'null until graded.' })
  @Column({ type: 'boolean', nullable: true })
  correct!: boolean | null;

  @Field(() => Float, { nullable: true })
  @Column({ type: 'double precision', nullable: true })
  reward!: number | null;

  @Field(() => String, { nullable: true })
  @Column({ type: 'text', nullable: true })
  graderVersion!: string | null;

  @Field(() => String, { nullable: true, description: 'Model name or checkpoint that wrote it.' })
  @Column({ type: 'text', nullable: true })
  producer!: string | null;

  @ManyToOne(() => Run, { nullable: true, onDelete: 'SET NULL' })
  @JoinColumn({ name: 'run_id' })
  run?: Relation<Run>;

  @Column({ type: 'integer', nullable: true })
  runId!: number | null;

  @ManyToOne(() => Trace, { nullable: true, onDelete: 'SET NULL' })
  @JoinColumn({ name: 'parent_trace_id' })
  parentTrace?: Relation<Trace>;

  @Column({ type: 'bigint', nullable: true })
  parentTraceId!: string | null;

  @Field(() => Int, { nullable: true })
  @Column({ type: 'integer', nullable: true })
  tokenCount!: number | null;

  @Field(() => Float, { nullable: true, description: 'Mean token NLL under the student.' })
  @Column({ type: 'double precision', nullable: true })
  studentNll!: number | null;

  @Field(() => GraphQLJSONObject)
  @Column({ type: 'jsonb', default: () => "'{}'" })
  metadata!: Record<string, unknown>;
}

// Trace's code reads only id, sampleId, runId and parentTraceId (no field of their own) besides
// its plain fields: GraphQL reads may leave out the columns of unselected fields.
readsSelectedOnly(Trace);
