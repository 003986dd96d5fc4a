import { Field, Float, ID, InputType, Int } from 'type-graphql';
import { GraphQLJSONObject } from 'graphql-scalars';
import {
  ArrayMaxSize,
  IsOptional,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { LIMITS } from '../../common/limits';
import { AssignmentStage } from '../routing/stage-assignment.entity';

@InputType({ description: 'Pass rate of the samples under one checkpoint, within [min, max].' })
export class PassRateRange {
  @Field(() => ID)
  checkpointId!: string;

  @Field(() => Float, { nullable: true })
  @IsOptional()
  @Min(0)
  @Max(1)
  min?: number;

  @Field(() => Float, { nullable: true })
  @IsOptional()
  @Min(0)
  @Max(1)
  max?: number;
}

@InputType({ description: 'Samples assigned to a stage in one round of a curriculum.' })
export class StageInRound {
  @Field(() => ID)
  curriculumId!: string;

  @Field(() => Int)
  @Min(1)
  round!: number;

  @Field(() => AssignmentStage)
  stage!: AssignmentStage;
}

@InputType()
export class SampleFilter {
  @Field(() => [ID], { nullable: true, description: 'In any of these datasets.' })
  @IsOptional()
  @ArrayMaxSize(100)
  datasetIds?: string[];

  @Field(() => [String], { nullable: true, description: 'Has at least one of these tags.' })
  @IsOptional()
  @ArrayMaxSize(LIMITS.tags)
  tagsAny?: string[];

  @Field(() => [String], { nullable: true, description: 'Has every one of these tags.' })
  @IsOptional()
  @ArrayMaxSize(LIMITS.tags)
  tagsAll?: string[];

  @Field(() => String, { nullable: true, description: 'null: samples without a domain.' })
  @IsOptional()
  @MaxLength(LIMITS.domain)
  domain?: string | null;

  @Field(() => String, { nullable: true, description: 'Case-insensitive text in the problem.' })
  @IsOptional()
  @MinLength(1)
  @MaxLength(1_000)
  problemContains?: string;

  @Field(() => PassRateRange, { nullable: true })
  @IsOptional()
  @ValidateNested()
  passRate?: PassRateRange;

  @Field(() => StageInRound, { nullable: true })
  @IsOptional()
  @ValidateNested()
  stage?: StageInRound;
}

@InputType()
export class SampleInput {
  @Field({ description: 'Unique in the dataset; re-sending it creates no duplicate.' })
  @MinLength(1)
  @MaxLength(LIMITS.externalId)
  externalId!: string;

  @Field()
  @MinLength(1)
  @MaxLength(LIMITS.problem)
  problem!: string;

  @Field()
  @MaxLength(LIMITS.answer)
  answer!: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(LIMITS.domain)
  domain?: string | null;

  @Field(() => [String], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(LIMITS.tags)
  @MaxLength(LIMITS.tag, { each: true })
  tags?: string[];

  @Field(() => GraphQLJSONObject, { nullable: true })
  @IsOptional()
  metadata?: Record<string, unknown>;
}

@InputType()
export class ImportSamplesInput {
  @Field(() => ID)
  datasetId!: string;

  @Field(() => [SampleInput])
  @ArrayMaxSize(LIMITS.graphqlBatch, {
    message: `at most ${LIMITS.graphqlBatch} samples per call; send bigger sets to POST /v1/datasets/{name}/samples`,
  })
  @ValidateNested({ each: true })
  samples!: SampleInput[];
}
