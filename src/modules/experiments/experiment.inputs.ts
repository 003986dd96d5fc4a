import { Field, Float, ID, InputType, Int } from 'type-graphql';
import { GraphQLJSONObject } from 'graphql-scalars';
import { ArrayMaxSize, ArrayMinSize, IsOptional, Matches, Max, Min } from 'class-validator';
import { LauncherKind } from '../runs/run.inputs';
import { ExperimentArm } from './experiment.entity';

@InputType({ description: 'Arms compared from one base checkpoint at one compute budget.' })
export class CreateExperimentInput {
  @Field()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, {
    message: 'name must be 1-128 letters, digits, dots, dashes or underscores',
  })
  name!: string;

  @Field(() => [ID], { description: 'TRAIN datasets every arm trains on.' })
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  trainDatasetIds!: string[];

  @Field(() => [ID], { description: 'EVAL datasets every arm is evaluated on (greedy).' })
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  evalDatasetIds!: string[];

  @Field(() => ID)
  baseCheckpointId!: string;

  @Field(() => [ExperimentArm])
  @ArrayMinSize(1)
  @ArrayMaxSize(8)
  arms!: ExperimentArm[];

  @Field(() => Int, { defaultValue: 3, description: 'Seeds per arm (data order, sampling, init).' })
  @Min(1)
  @Max(20)
  seeds: number = 3;

  @Field(() => ID, {
    nullable: true,
    description:
      'Routing policy of the method arms (STAGEWISE, NO_*): needed when one is among the arms.',
  })
  @IsOptional()
  policyId?: string | null;

  @Field(() => Int, { defaultValue: 2, description: "Rounds of the method arms' curricula." })
  @Min(1)
  @Max(20)
  rounds: number = 2;

  @Field(() => Float, {
    description:
      'Tokens through the model each arm may use per seed: forward+backward in training, generated tokens in rollouts, forward-only at 1/3.',
  })
  @Min(1)
  @Max(1e13)
  computeBudget!: number;

  @Field(() => LauncherKind, { defaultValue: LauncherKind.LOCAL })
  launcher: LauncherKind = LauncherKind.LOCAL;

  @Field(() => GraphQLJSONObject, {
    nullable: true,
    description:
      'Config per stage (PROBE, SFT, RL, EVAL, and BRIDGE, CRITIQUE for the method arms) for its runs; steps are set by the budget, seed by the seed.',
  })
  @IsOptional()
  stageConfigs?: Record<string, Record<string, unknown>> | null;
}
