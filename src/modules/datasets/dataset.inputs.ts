import { Field, ID, InputType } from 'type-graphql';
import { IsOptional, Matches, MaxLength } from 'class-validator';
import { DatasetSplit } from './dataset.entity';

const NAME_RULE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const NAME_MESSAGE =
  'must be 1-128 letters, digits, dots, dashes or underscores, starting with a letter or digit';

@InputType()
export class CreateDatasetInput {
  @Field({ description: 'Unique; used in the bulk endpoints: /v1/datasets/{name}/samples.' })
  @Matches(NAME_RULE, { message: `name ${NAME_MESSAGE}` })
  name!: string;

  @Field(() => DatasetSplit, { defaultValue: DatasetSplit.TRAIN })
  split: DatasetSplit = DatasetSplit.TRAIN;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(10_000)
  description?: string | null;
}

@InputType()
export class UpdateDatasetInput {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @Matches(NAME_RULE, { message: `name ${NAME_MESSAGE}` })
  name?: string;

  @Field(() => DatasetSplit, { nullable: true })
  @IsOptional()
  split?: DatasetSplit;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(10_000)
  description?: string | null;
}

@InputType()
export class DatasetFilter {
  @Field(() => DatasetSplit, { nullable: true })
  split?: DatasetSplit;

  @Field(() => String, { nullable: true, description: 'Case-insensitive part of the name.' })
  @IsOptional()
  @MaxLength(128)
  nameContains?: string;
}
