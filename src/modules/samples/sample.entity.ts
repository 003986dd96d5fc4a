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
import { Field, ObjectType } from 'type-graphql';
import { GraphQLJSONObject } from 'graphql-scalars';
import { BaseRow, Node } from '../../common/db/base.entity';
import { Dataset } from '../datasets/dataset.entity';
import { readsSelectedOnly } from '../../common/db/plain-rows';

/** One problem with its gold answer. Unique by externalId and by normalised content in a dataset. */
@ObjectType({ implements: Node })
@Entity('samples')
@Unique('uq_samples_dataset_external_id', ['datasetId', 'externalId'])
@Unique('uq_samples_dataset_content_hash', ['datasetId', 'contentHash'])
// GIN indexes (tags, trigram on problem) are written by hand in the migration: TypeORM cannot
// express index methods, so it is told not to manage them.
@Index('ix_samples_tags', { synchronize: false })
@Index('ix_samples_problem_trgm', { synchronize: false })
@Index('ix_samples_dataset', ['datasetId', 'id'])
@Index('ix_samples_domain', ['domain', 'id'])
export class Sample extends BaseRow {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @ManyToOne(() => Dataset, { nullable: false, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'dataset_id' })
  dataset?: Relation<Dataset>;

  @Column({ type: 'integer' })
  datasetId!: number;

  @Field({ description: 'The id the sample has in its source; unique in its dataset.' })
  @Column({ type: 'text' })
  externalId!: string;

  @Field()
  @Column({ type: 'text' })
  problem!: string;

  @Field({ description: 'The gold answer.' })
  @Column({ type: 'text' })
  answer!: string;

  @Field(() => String, { nullable: true })
  @Column({ type: 'text', nullable: true })
  domain!: string | null;

  @Field(() => [String])
  @Column({ type: 'text', array: true, default: () => "'{}'" })
  tags!: string[];

  @Field({ description: 'sha256 of the normalised problem text.' })
  @Column({ type: 'char', length: 64 })
  contentHash!: string;

  @Field(() => GraphQLJSONObject)
  @Column({ type: 'jsonb', default: () => "'{}'" })
  metadata!: Record<string, unknown>;
}

// Sample's code reads only id and datasetId (no field of their own) besides its plain fields:
// GraphQL reads may leave out the columns of unselected fields.
readsSelectedOnly(Sample);
