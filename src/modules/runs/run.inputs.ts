import { ArgsType, Field, ID, InputType, Int } from 'type-graphql';
import { ArrayMaxSize, IsOptional, Max, Min } from 'class-validator';
import { RunStage, RunStatus } from './run.entity';

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
