import { ArgsType, Field, ID, InputType, Int, registerEnumType } from 'type-graphql';
import { GraphQLJSONObject } from 'graphql-scalars';
import { ArrayMaxSize, IsOptional, Max, MaxLength, Min, ValidateNested } from 'class-validator';
import { RunStage, RunStatus } from './run.entity';
import { SampleFilter } from '../samples/sample.inputs';
import { TraceKind } from '../traces/trace.entity';

@InputType()
export class RunFilter {
  @Field(() => [RunStatus], { nullable: true, description: 'In any of these statuses.' })
  @IsOptional()
  @ArrayMaxSize(7)
  status?: RunStatus[];

  @Field(() => RunStage, { nullable: true })
  stage?: RunStage;

  @Field(() => ID, { nullable: true })
  curriculumId?: string;

  @Field(() => Int, { nullable: true, description: 'With curriculumId: runs of this round.' })
  @IsOptional()
  @Min(1)
  round?: number;
}

@ArgsType()
export class RunEventsArgs {
  @Field(() => Int, { defaultValue: 0, description: 'Events after this seq.' })
  @Min(0)
  afterSeq: number = 0;

  @Field(() => Int, { defaultValue: 100 })
  @Min(0)
  @Max(500)
  first: number = 100;
}

export enum LauncherKind {
  LOCAL = 'local',
  SLURM = 'slurm',
  KUBERNETES = 'kubernetes',
}
registerEnumType(LauncherKind, {
  name: 'LauncherKind',
  description: 'Where a run executes: a local process, a Slurm job, or a Kubernetes Job.',
});

@InputType({
  description: 'Which samples (and traces) a run gets; frozen into a manifest at start.',
})
export class ManifestSelectionInput {
  @Field(() => SampleFilter)
  @ValidateNested()
  filter!: SampleFilter;

  @Field(() => [TraceKind], {
    nullable: true,
    description:
      'Give each sample its first trace of these kinds (SFT); samples without one are left out.',
  })
  @IsOptional()
  @ArrayMaxSize(5)
  traceKinds?: TraceKind[] | null;

  @Field(() => String, { nullable: true, description: 'Only traces by this producer.' })
  @IsOptional()
  @MaxLength(256)
  traceProducer?: string | null;

  @Field(() => Int, { nullable: true, description: 'At most this many samples, oldest first.' })
  @IsOptional()
  @Min(1)
  @Max(10_000_000)
  limit?: number | null;
}

@InputType()
export class StartRunInput {
  @Field(() => RunStage)
  stage!: RunStage;

  @Field(() => GraphQLJSONObject, {
    nullable: true,
    description:
      "The stage's config (defaults for what it leaves out); every wrong field is named in the error.",
  })
  config?: Record<string, unknown> | null;

  @Field(() => ID, {
    nullable: true,
    description: 'Null trains from scratch (the built-in tiny model).',
  })
  inputCheckpointId?: string | null;

  @Field(() => ID, { nullable: true, description: 'A frozen manifest; or give a selection.' })
  manifestId?: string | null;

  @Field(() => ManifestSelectionInput, { nullable: true })
  @IsOptional()
  @ValidateNested()
  selection?: ManifestSelectionInput | null;

  @Field(() => LauncherKind, { defaultValue: LauncherKind.LOCAL })
  launcher: LauncherKind = LauncherKind.LOCAL;
}
