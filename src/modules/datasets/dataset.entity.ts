import { Column, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { Field, ObjectType, registerEnumType } from 'type-graphql';
import { BaseRow, Node } from '../../common/db/base.entity';

export enum DatasetSplit {
  TRAIN = 'TRAIN',
  EVAL = 'EVAL',
}
registerEnumType(DatasetSplit, {
  name: 'DatasetSplit',
  description:
    'TRAIN data is routed and trained on; EVAL data is held out and decontaminated against.',
});

/** A named source of samples (a benchmark, a scraped set, the built-in task). */
@ObjectType({ implements: Node })
@Entity('datasets')
export class Dataset extends BaseRow {
  @PrimaryGeneratedColumn()
  id!: number;

  @Field()
  @Column({ type: 'text', unique: true })
  name!: string;

  @Field(() => DatasetSplit)
  @Column({
    type: 'enum',
    enum: DatasetSplit,
    enumName: 'dataset_split',
    default: DatasetSplit.TRAIN,
  })
  split!: DatasetSplit;

  @Field(() => String, { nullable: true })
  @Column({ type: 'text', nullable: true })
  description!: string | null;

  @Field()
  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
