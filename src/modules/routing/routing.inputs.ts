import { Field, Float, ID, InputType, Int } from 'type-graphql';
import { GraphQLJSONObject } from 'graphql-scalars';
import { IsOptional, Matches, Max, Min } from 'class-validator';
import { AssignmentStage } from './stage-assignment.entity';
import { BridgeStrategy } from './routing-policy.entity';

@InputType()
export class StageAssignmentFilter {
  @Field(() => ID, { nullable: true })
  curriculumId?: string;

  @Field(() => Int, { nullable: true })
  @IsOptional()
  @Min(1)
  round?: number;

  @Field(() => AssignmentStage, { nullable: true })
  stage?: AssignmentStage;

  @Field(() => ID, { nullable: true })
  sampleId?: string;
}

@InputType({
  description: 'A routing policy version. Sending an existing name makes its next version.',
})
export class CreateRoutingPolicyInput {
  @Field()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, {
    message: 'name must be 1-128 letters, digits, dots, dashes or underscores',
  })
  name!: string;

  @Field(() => Int, { defaultValue: 8 })
  @Min(1)
  @Max(1024)
  k: number = 8;

  @Field(() => Float, { defaultValue: 1.0 })
  @Min(0)
  @Max(5)
  temperature: number = 1.0;

  @Field(() => Float, { defaultValue: 0 })
  @Min(0)
  @Max(1)
  tauLow: number = 0;

  @Field(() => Float, { defaultValue: 1 })
  @Min(0)
  @Max(1)
  tauHigh: number = 1;

  @Field(() => Int, { defaultValue: 8 })
  @Min(1)
  @Max(1024)
  minAttempts: number = 8;

  @Field(() => Float, { defaultValue: 0.05 })
  @Min(0)
  @Max(1)
  replayFraction: number = 0.05;

  @Field(() => BridgeStrategy, { defaultValue: BridgeStrategy.SELECT })
  bridgeStrategy: BridgeStrategy = BridgeStrategy.SELECT;

  @Field(() => GraphQLJSONObject, { nullable: true })
  bridgeOptions?: Record<string, unknown>;

  @Field(() => Int, { defaultValue: 0 })
  @Min(0)
  seed: number = 0;
}
