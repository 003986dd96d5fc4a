import { Field, Float, Int, ObjectType } from 'type-graphql';

@ObjectType({
  description: 'One bin of a pass-rate histogram: lo <= rate < hi (the last bin includes 1).',
})
export class PassRateBin {
  @Field(() => Float)
  lo!: number;

  @Field(() => Float)
  hi!: number;

  @Field(() => Int)
  count!: number;
}

@ObjectType({
  description: "A checkpoint's mastery of a dataset: how many samples it probed and how well.",
})
export class PassRateHistogram {
  @Field(() => Int, { description: 'Samples with a pass rate under the checkpoint.' })
  probedSamples!: number;

  @Field(() => Int, { description: 'Graded attempts behind those pass rates.' })
  attempts!: number;

  @Field(() => Float, { nullable: true, description: 'Mean pass rate over the probed samples.' })
  meanRate!: number | null;

  @Field(() => Int, { description: 'Probed samples never solved (rate 0).' })
  never!: number;

  @Field(() => Int, { description: 'Probed samples always solved (rate 1).' })
  always!: number;

  @Field(() => [PassRateBin])
  bins!: PassRateBin[];
}

/**
 * New graded attempts of one sample under one checkpoint, as a trace insert hands them to
 * MasteryService.addAttempts: the pass rate's counts grow by these.
 */
export interface AttemptTally {
  sampleId: string;
  checkpointId: number;
  attempts: number;
  successes: number;
  graderVersion: string | null;
}
