import {
  Check,
  Column,
  Entity,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  Unique,
} from 'typeorm';
import type { Relation } from 'typeorm';
import { Curriculum } from './curriculum.entity';
import { Dataset } from '../datasets/dataset.entity';

/** Which datasets a curriculum trains on (TRAIN) and evaluates on (EVAL). */
@Entity('curriculum_datasets')
@Check('ck_curriculum_datasets_role', `role IN ('TRAIN', 'EVAL')`)
@Unique('uq_curriculum_datasets', ['curriculumId', 'datasetId'])
export class CurriculumDataset {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'integer' })
  curriculumId!: number;

  @Column({ type: 'integer' })
  datasetId!: number;

  @Column({ type: 'text' })
  role!: 'TRAIN' | 'EVAL';

  @ManyToOne(() => Curriculum, { nullable: false, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'curriculum_id' })
  curriculum?: Relation<Curriculum>;

  @ManyToOne(() => Dataset, { nullable: false, onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'dataset_id' })
  dataset?: Relation<Dataset>;
}
