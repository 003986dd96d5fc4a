import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import type { Relation } from 'typeorm';
import { Ctx, Field, ObjectType } from 'type-graphql';
import type { RequestContext } from '../../common/request-context';
import { Manifest } from './manifest.entity';
import { Sample } from '../samples/sample.entity';

/**
 * A sample left out of a training manifest because its text overlaps an EVAL sample
 * (decontamination): kept so "why is this sample missing?" has an answer.
 */
@ObjectType({ description: 'A sample left out of a manifest, and the EVAL sample it overlaps.' })
@Entity('manifest_exclusions')
@Index('ix_manifest_exclusions_sample', ['sampleId'])
export class ManifestExclusion {
  @PrimaryColumn({ type: 'integer' })
  manifestId!: number;

  @PrimaryColumn({ type: 'bigint' })
  sampleId!: string;

  @ManyToOne(() => Manifest, { nullable: false, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'manifest_id' })
  manifest?: Relation<Manifest>;

  @ManyToOne(() => Sample, { nullable: false, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'sample_id' })
  sample?: Relation<Sample>;

  @ManyToOne(() => Sample, { nullable: false, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'eval_sample_id' })
  evalSample?: Relation<Sample>;

  @Column({ type: 'bigint' })
  evalSampleId!: string;

  @Field({ description: 'What overlapped, e.g. "13-gram overlap with an EVAL sample".' })
  @Column({ type: 'text' })
  reason!: string;

  // GraphQL's `sample` and `evalSample`, read through the request's loader. They live here, not
  // in a resolver class, so the type needs no entry in the schema's resolver list; the names
  // differ from the TypeORM relations they mirror.
  @Field(() => Sample, { name: 'sample', description: 'The sample left out.' })
  loadSample(@Ctx() ctx: RequestContext): Promise<Sample | null> {
    return ctx.loaders.byId(Sample).load(this.sampleId);
  }

  @Field(() => Sample, { name: 'evalSample', description: 'The EVAL sample it overlaps.' })
  loadEvalSample(@Ctx() ctx: RequestContext): Promise<Sample | null> {
    return ctx.loaders.byId(Sample).load(this.evalSampleId);
  }
}
