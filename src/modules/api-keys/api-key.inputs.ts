import { Field, InputType, ObjectType } from 'type-graphql';
import { ArrayMaxSize, ArrayMinSize, IsIn, MaxLength, MinLength } from 'class-validator';
import { ApiKey, ApiKeyScope } from './api-key.entity';

@InputType()
export class CreateApiKeyInput {
  @Field()
  @MinLength(1)
  @MaxLength(128)
  name!: string;

  @Field(() => [ApiKeyScope], {
    description: 'READ, WRITE or ADMIN (RUNNER keys are made per run).',
  })
  @ArrayMinSize(1)
  @ArrayMaxSize(3)
  @IsIn([ApiKeyScope.READ, ApiKeyScope.WRITE, ApiKeyScope.ADMIN], {
    each: true,
    message: 'scopes must be READ, WRITE or ADMIN',
  })
  scopes!: ApiKeyScope[];
}

@ObjectType()
export class CreatedApiKey {
  @Field(() => ApiKey)
  apiKey!: ApiKey;

  @Field({ description: 'The secret. Shown this once; only its hash is stored.' })
  key!: string;
}
