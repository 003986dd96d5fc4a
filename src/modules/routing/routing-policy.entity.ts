import { Column, Entity, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { Field, Float, Int, ObjectType, registerEnumType } from 'type-graphql';
import { GraphQLJSONObject } from 'graphql-scalars';
import { BaseRow, Node } from '../../common/db/base.entity';

export enum BridgeStrategy {
  NONE = 'NONE',
  SELECT = 'SELECT',
  HINT = 'HINT',
  REWRITE = 'REWRITE',
}
registerEnumType(BridgeStrategy, {
  name: 'BridgeStrategy',
  description: 'How raw teacher traces are made learnable for the student before SFT.',
});

/**
 * Versioned, immutable routing rules: what pass rate sends a sample to SFT, RL or out.
 * A change is a new version under the same name; assignments keep pointing at the old one.
 */
@ObjectType({ implements: Node })
@Entity('routing_policies')
@Unique('uq_routing_policies_name_version', ['name', 'version'])
export class RoutingPolicy extends BaseRow {
  @PrimaryGeneratedColumn()
  id!: number;

  @Field()
  @Column({ type: 'text' })
  name!: string;

  @Field(() => Int)
  @Column({ type: 'integer' })
  version!: number;

  @Field(() => Int, { description: 'Samples drawn per problem when probing.' })
  @Column({ type: 'integer' })
  k!: number;

  @Field(() => Float, { description: 'Probe sampling temperature.' })
  @Column({ type: 'double precision' })
  temperature!: number;

  @Field(() => Float, { description: 'p <= tauLow goes to SFT.' })
  @Column({ type: 'double precision' })
  tauLow!: number;

  @Field(() => Float, { description: 'p >= tauHigh is mastered.' })
  @Column({ type: 'double precision' })
  tauHigh!: number;

  @Field(() => Int)
  @Column({ type: 'integer' })
  minAttempts!: number;

  @Field(() => Float, { description: 'Share of mastered samples replayed in SFT.' })
  @Column({ type: 'double precision' })
  replayFraction!: number;

  @Field(() => BridgeStrategy)
  @Column({ type: 'enum', enum: BridgeStrategy, enumName: 'bridge_strategy' })
  bridgeStrategy!: BridgeStrategy;

  @Field(() => GraphQLJSONObject, { description: 'Knobs of the bridge strategy.' })
  @Column({ type: 'jsonb', default: () => "'{}'" })
  bridgeOptions!: Record<string, unknown>;

  @Field(() => Int)
  @Column({ type: 'integer' })
  seed!: number;
}
