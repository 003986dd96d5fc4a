import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import type { Relation } from 'typeorm';
import { Curriculum } from '../curricula/curriculum.entity';
import { Experiment } from './experiment.entity';

/** The curriculum a seed of a method arm runs (STAGEWISE and its ablations); its runs count. */
@Entity('experiment_curricula')
export class ExperimentCurriculum {
  @PrimaryColumn({ type: 'integer' })
  experimentId!: number;

  @PrimaryColumn({ type: 'text' })
  arm!: string;

  @PrimaryColumn({ type: 'integer' })
  seed!: number;

  @Column({ type: 'integer', unique: true })
  curriculumId!: number;

  @ManyToOne(() => Experiment, { nullable: false, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'experiment_id' })
  experiment?: Relation<Experiment>;

  @ManyToOne(() => Curriculum, { nullable: false, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'curriculum_id' })
  curriculum?: Relation<Curriculum>;
}
