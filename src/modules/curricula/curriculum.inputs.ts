import { Field, Float, ID, InputType, Int } from 'type-graphql';
import { GraphQLJSONObject } from 'graphql-scalars';
import { ArrayMaxSize, ArrayMinSize, IsOptional, Matches, Max, Min } from 'class-validator';
import { LauncherKind } from '../runs/run.inputs';
import { CurriculumAblation } from './curriculum.entity';

@InputType({ description: 'A multi-round curriculum: what it trains on, from where, how.' })
export class CreateCurriculumInput {
  @Field()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, {
    message: 'name must be 1-128 letters, digits, dots, dashes or underscores',
  })
  name!: string;

  @Field(() => [ID], { description: 'TRAIN datasets: probed, routed and trained on.' })
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  datasetIds!: string[];

  @Field(() => [ID], {
    nullable: true,
    description: 'EVAL datasets: the held-out benchmark, evaluated at the end.',
  })
  @IsOptional()
  @ArrayMaxSize(100)
  evalDatasetIds?: string[] | null;

  @Field(() => ID)
  baseCheckpointId!: string;

  @Field(() => ID)
  policyId!: string;

  @Field(() => Int, { defaultValue: 2 })
  @Min(1)
  @Max(100)
  rounds: number = 2;

  @Field(() => LauncherKind, { defaultValue: LauncherKind.LOCAL })
  launcher: LauncherKind = LauncherKind.LOCAL;

  @Field(() => GraphQLJSONObject, {
    nullable: true,
    description:
      'Config per stage for its runs, e.g. {"SFT": {"steps": 300}, "RL": {"steps": 60}}; validated like startRun. PROBE k and temperature come from the policy. SFT runs take lr 1e-5 unless SFT.lr says otherwise (the runner default, 1e-3, is for training from scratch; 1e-5 is what npm run experiment chose on its validation set).',
  })
  @IsOptional()
  stageConfigs?: Record<string, Record<string, unknown>> | null;

  @Field(() => Float, {
    nullable: true,
    description:
      'Tokens through the model the whole curriculum may use; SFT and RL steps are sized to it (their configured steps and epochs give way).',
  })
  @IsOptional()
  @Min(1)
  @Max(1e13)
  computeBudget?: number | null;

  @Field(() => [CurriculumAblation], {
    nullable: true,
    description: 'Parts of the method to leave out.',
  })
  @IsOptional()
  @ArrayMaxSize(3)
  ablations?: CurriculumAblation[] | null;

  @Field({ defaultValue: true, description: 'Advance on its own as each step ends.' })
  autoAdvance: boolean = true;
}
