import { Field, ID, InputType } from 'type-graphql';
import { GraphQLJSONObject } from 'graphql-scalars';
import { IsOptional, Matches, MaxLength, MinLength } from 'class-validator';

@InputType()
export class CheckpointFilter {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(256)
  baseModel?: string;

  @Field(() => ID, { nullable: true, description: 'Children of this checkpoint.' })
  parentId?: string;

  @Field(() => ID, { nullable: true })
  producedByRunId?: string;
}

@InputType()
export class CreateCheckpointInput {
  @Field({ description: 'Unique.' })
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,255}$/, {
    message: 'name must be 1-256 letters, digits or . _ : / -, starting with a letter or digit',
  })
  name!: string;

  @Field()
  @MinLength(1)
  @MaxLength(256)
  baseModel!: string;

  @Field({ description: 'Where the weights are: a path or an object-store URI.' })
  @MinLength(1)
  @MaxLength(2_048)
  uri!: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(2_048)
  onnxUri?: string | null;

  @Field(() => ID, { nullable: true })
  parentId?: string | null;

  @Field(() => GraphQLJSONObject, { nullable: true })
  metadata?: Record<string, unknown>;
}
