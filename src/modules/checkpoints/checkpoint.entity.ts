import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import type { Relation } from 'typeorm';
import { Field, ObjectType } from 'type-graphql';
import { GraphQLJSONObject } from 'graphql-scalars';
import { BaseRow, Node } from '../../common/db/base.entity';
// By name, not by class: runs name checkpoints too, and entity files must not import in a
// circle (the import-boundary rule, .dependency-cruiser.cjs).
import type { Run } from '../runs/run.entity';

/** Model weights somewhere (a path, an object-store URI), with their lineage. */
@ObjectType({ implements: Node })
@Entity('checkpoints')
@Index('ix_checkpoints_parent', ['parentId'])
@Index('ix_checkpoints_run', ['producedByRunId'])
export class Checkpoint extends BaseRow {
  @PrimaryGeneratedColumn()
  id!: number;

  @Field()
  @Column({ type: 'text', unique: true })
  name!: string;

  @Field({ description: 'The architecture or hub name it descends from.' })
  @Column({ type: 'text' })
  baseModel!: string;

  @Field()
  @Column({ type: 'text' })
  uri!: string;

  @Field(() => String, { nullable: true, description: 'ONNX export, for in-process scoring.' })
  @Column({ type: 'text', nullable: true })
  onnxUri!: string | null;

  @ManyToOne(() => Checkpoint, { nullable: true, onDelete: 'SET NULL' })
  @JoinColumn({ name: 'parent_id' })
  parent?: Relation<Checkpoint>;

  @Column({ type: 'integer', nullable: true })
  parentId!: number | null;

  @ManyToOne('Run', { nullable: true, onDelete: 'SET NULL' })
  @JoinColumn({ name: 'produced_by_run_id' })
  producedByRun?: Relation<Run>;

  @Column({ type: 'integer', nullable: true })
  producedByRunId!: number | null;

  @Field(() => GraphQLJSONObject)
  @Column({ type: 'jsonb', default: () => "'{}'" })
  metadata!: Record<string, unknown>;
}
