import { Field, Int, ObjectType } from 'type-graphql';
import { AssignmentStage, StageAssignment } from './stage-assignment.entity';
import type { RoutingScope } from './routing.sql';
import { PassRate } from '../mastery/pass-rate.entity';

@ObjectType({ description: 'How many samples a routing puts in one stage.' })
export class StageCount {
  @Field(() => AssignmentStage)
  stage!: AssignmentStage;

  @Field(() => Int)
  count!: number;
}

@ObjectType({
  description:
    'Samples that would change stage: from their current assignment (NONE: none yet) to the new one (UNROUTED: too few graded attempts).',
})
export class StageMove {
  @Field()
  from!: string;

  @Field()
  to!: string;

  @Field(() => Int)
  count!: number;
}

@ObjectType({ description: 'What applyRouting would do, without writing anything.' })
export class RoutingPreview {
  @Field(() => [StageCount])
  counts!: StageCount[];

  @Field(() => Int, { description: 'Samples with fewer graded attempts than minAttempts.' })
  unrouted!: number;

  @Field(() => Int, { description: 'Samples in the datasets.' })
  total!: number;

  @Field(() => [StageMove], { description: 'Changes against the round’s current assignments.' })
  moves!: StageMove[];

  @Field(() => Int, { description: 'Samples whose stage would change.' })
  moved!: number;

  /** What the preview was computed from, for the samples of a move. */
  scope!: RoutingScope;
  curriculumId!: number | null;
  round!: number | null;
}

@ObjectType({ description: 'What applyRouting wrote.' })
export class ApplyRoutingResult {
  @Field(() => [StageCount])
  counts!: StageCount[];

  @Field(() => Int)
  unrouted!: number;

  @Field(() => Int, { description: 'New assignments.' })
  inserted!: number;

  @Field(() => Int, { description: 'Assignments whose stage or evidence changed.' })
  updated!: number;

  @Field(() => Int, {
    description: 'Assignments already as computed (applying twice changes nothing).',
  })
  unchanged!: number;

  @Field(() => Int, { description: 'Assignments removed: their sample is no longer routed.' })
  removed!: number;
}

@ObjectType({ description: 'Why a sample is (or is not) in a stage in one round.' })
export class AssignmentExplanation {
  @Field(() => AssignmentStage, { nullable: true })
  stage!: AssignmentStage | null;

  @Field({ description: 'The reason, in words.' })
  explanation!: string;

  @Field(() => StageAssignment, { nullable: true })
  assignment!: StageAssignment | null;

  @Field(() => PassRate, {
    nullable: true,
    description: 'The pass rate now stored for the checkpoint the round was routed on.',
  })
  passRate!: PassRate | null;
}
