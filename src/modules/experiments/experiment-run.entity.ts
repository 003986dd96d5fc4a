import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import type { Relation } from 'typeorm';
import { Run } from '../runs/run.entity';
import { Experiment } from './experiment.entity';

/** Which run is which step of which seed of which arm (runs stay ordinary, tracked runs). */
@Entity('experiment_runs')
export class ExperimentRun {
  @PrimaryColumn({ type: 'integer' })
  experimentId!: number;

  @PrimaryColumn({ type: 'text' })
  arm!: string;

  @PrimaryColumn({ type: 'integer' })
  seed!: number;

  /** 0-based position in the arm's plan (experiment.plans.ts). */
  @PrimaryColumn({ type: 'integer' })
  step!: number;

  @Column({ type: 'integer', unique: true })
  runId!: number;

  /** Tokens the run's steps were sized to (null for EVAL, which the budget does not count). */
  @Column({ type: 'double precision', nullable: true })
  plannedTokens!: number | null;

  @ManyToOne(() => Experiment, { nullable: false, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'experiment_id' })
  experiment?: Relation<Experiment>;

  @ManyToOne(() => Run, { nullable: false, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'run_id' })
  run?: Relation<Run>;
}
