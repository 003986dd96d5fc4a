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
import { TraceKind } from './trace.entity';

@InputType()
export class TraceFilter {
  @Field(() => ID, { nullable: true })
  sampleId?: string;

  @Field(() => TraceKind, { nullable: true })
  kind?: TraceKind;

  @Field(() => Boolean, { nullable: true })
  correct?: boolean;

  @Field(() => ID, { nullable: true, description: 'Written by this run.' })
  runId?: string;

  @Field(() => String, { nullable: true, description: 'null: traces without a producer.' })
  @IsOptional()
  @MaxLength(LIMITS.producer)
  producer?: string | null;
}

@InputType()
export class TraceInput {
  @Field({ description: 'externalId of the sample in the dataset.' })
  @MinLength(1)
  @MaxLength(LIMITS.externalId)
  sampleExternalId!: string;

  @Field(() => String, {
    nullable: true,
    description: 'Idempotency key per sample; by default a hash of kind, producer and text.',
  })
  @IsOptional()
  @MinLength(1)
  @MaxLength(LIMITS.externalId)
  externalId?: string | null;

  @Field(() => TraceKind)
  kind!: TraceKind;

  @Field()
  @MaxLength(LIMITS.traceText)
  text!: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(LIMITS.answer)
  finalAnswer?: string | null;

  @Field(() => Boolean, { nullable: true })
  correct?: boolean | null;

  @Field(() => Float, { nullable: true })
  reward?: number | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(LIMITS.graderVersion)
  graderVersion?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(LIMITS.producer)
  producer?: string | null;

  @Field(() => Int, { nullable: true })
  @IsOptional()
  @Min(0)
  @Max(100_000_000)
  tokenCount?: number | null;

  @Field(() => GraphQLJSONObject, { nullable: true })
  metadata?: Record<string, unknown>;
}

@InputType()
export class ImportTracesInput {
  @Field(() => ID, { description: 'The dataset whose samples the traces are about.' })
  datasetId!: string;

  @Field(() => [TraceInput])
  @ArrayMaxSize(LIMITS.graphqlBatch, {
    message: `at most ${LIMITS.graphqlBatch} traces per call; send bigger sets to POST /v1/datasets/{name}/traces`,
  })
  @ValidateNested({ each: true })
  traces!: TraceInput[];
}
