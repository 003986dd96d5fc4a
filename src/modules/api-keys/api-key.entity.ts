import { Check, Column, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import type { Relation } from 'typeorm';
import { Field, ObjectType } from 'type-graphql';
import { BaseRow, Node } from '../../common/db/base.entity';
import { Run } from '../runs/run.entity';
import { ApiKeyScope } from '../../common/auth/scopes';

export { ApiKeyScope };

/** Who may call the API. Only a sha256 of the key is stored; the key is shown once. */
@ObjectType({ implements: Node })
@Entity('api_keys')
@Check(
  'ck_api_keys_scopes',
  `scopes <@ ARRAY['READ','WRITE','ADMIN','RUNNER']::text[] AND cardinality(scopes) > 0`,
)
export class ApiKey extends BaseRow {
  @PrimaryGeneratedColumn()
  id!: number;

  @Field()
  @Column({ type: 'text' })
  name!: string;

  @Field({ description: 'The first characters of the key, to recognise it.' })
  @Column({ type: 'text', unique: true })
  prefix!: string;

  @Column({ type: 'char', length: 64, unique: true })
  hash!: string;

  @Field(() => [ApiKeyScope])
  @Column({ type: 'text', array: true })
  scopes!: ApiKeyScope[];

  @ManyToOne(() => Run, { nullable: true, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'run_id' })
  run?: Relation<Run>;

  @Column({ type: 'integer', nullable: true })
  runId!: number | null;

  @Field(() => Date, { nullable: true })
  @Column({ type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  @Column({ type: 'timestamptz', nullable: true })
  lastUsedAt!: Date | null;
}
