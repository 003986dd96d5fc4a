import { Field, ID, InputType } from 'type-graphql';
import { CritiqueVerdict } from './critique.entity';

@InputType()
export class CritiqueFilter {
  @Field(() => ID, { nullable: true })
  sampleId?: string;

  @Field(() => ID, { nullable: true })
  runId?: string;

  @Field(() => Boolean, { nullable: true })
  verified?: boolean;

  @Field(() => CritiqueVerdict, { nullable: true })
  verdict?: CritiqueVerdict;
}
