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
import { Field, Int, ObjectType } from 'type-graphql';
import { BaseRow, Node } from '../../common/db/base.entity';
import { Manifest } from './manifest.entity';
import { Sample } from '../samples/sample.entity';
import { Trace } from '../traces/trace.entity';

/** One line of a manifest: a sample, and the trace to learn from when there is one. */
@ObjectType({ implements: Node })
@Entity('manifest_items')
@Unique('uq_manifest_items_ordinal', ['manifestId', 'ordinal'])
@Index('ix_manifest_items_sample', ['sampleId'])
export class ManifestItem extends BaseRow {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @ManyToOne(() => Manifest, { nullable: false, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'manifest_id' })
  manifest?: Relation<Manifest>;

  @Column({ type: 'integer' })
  manifestId!: number;

  @Field(() => Int)
  @Column({ type: 'integer' })
  ordinal!: number;

  @ManyToOne(() => Sample, { nullable: false, onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'sample_id' })
  sample?: Relation<Sample>;

  @Column({ type: 'bigint' })
  sampleId!: string;

  @ManyToOne(() => Trace, { nullable: true, onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'trace_id' })
  trace?: Relation<Trace>;

  @Column({ type: 'bigint', nullable: true })
  traceId!: string | null;
}
