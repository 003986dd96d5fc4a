import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';
import { BaseRow, Node } from '../../common/db/base.entity';

export enum ManifestPurpose {
  PROBE = 'PROBE',
  BRIDGE = 'BRIDGE',
  SFT = 'SFT',
  RL = 'RL',
  CRITIQUE = 'CRITIQUE',
  EVAL = 'EVAL',
}
registerEnumType(ManifestPurpose, { name: 'ManifestPurpose' });

/** The frozen input of a run: an ordered list of samples (and traces), hashed. */
@ObjectType({ implements: Node })
@Entity('manifests')
export class Manifest extends BaseRow {
  @PrimaryGeneratedColumn()
  id!: number;

  @Field(() => ManifestPurpose)
  @Column({ type: 'enum', enum: ManifestPurpose, enumName: 'manifest_purpose' })
  purpose!: ManifestPurpose;

  @Field(() => Int)
  @Column({ type: 'integer', default: 0 })
  itemCount!: number;

  @Field(() => String, { nullable: true, description: 'sha256 over the items; set when frozen.' })
  @Column({ type: 'char', length: 64, nullable: true })
  sha256!: string | null;

  @Field(() => Int, {
    description: 'Samples left out because they overlap an EVAL dataset (decontamination).',
  })
  @Column({ type: 'integer', default: 0 })
  contaminatedCount!: number;

  @Field(() => Date, { nullable: true })
  @Column({ type: 'timestamptz', nullable: true })
  frozenAt!: Date | null;
}
