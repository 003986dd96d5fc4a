import { ArgsType, Field, ID, InputType, ObjectType } from 'type-graphql';
import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsUrl, MaxLength } from 'class-validator';
import { PageArgs } from '../../common/pagination';
import { Webhook, WebhookEvent } from './webhook.entity';

const URL_RULES = { protocols: ['http', 'https'], require_protocol: true, require_tld: false };

@InputType()
export class CreateWebhookInput {
  @Field({ description: 'Where deliveries are POSTed (http or https).' })
  @IsUrl(URL_RULES, { message: 'url must be an http(s) URL' })
  @MaxLength(2048)
  url!: string;

  @Field(() => [WebhookEvent])
  @ArrayMinSize(1)
  @ArrayMaxSize(2)
  @ArrayUnique()
  events!: WebhookEvent[];

  @Field(() => String, { nullable: true })
  @MaxLength(512)
  description?: string | null;

  @Field({ defaultValue: true })
  active: boolean = true;
}

@InputType()
export class UpdateWebhookInput {
  @Field(() => String, { nullable: true })
  @IsUrl(URL_RULES, { message: 'url must be an http(s) URL' })
  @MaxLength(2048)
  url?: string | null;

  @Field(() => [WebhookEvent], { nullable: true })
  @ArrayMinSize(1)
  @ArrayMaxSize(2)
  @ArrayUnique()
  events?: WebhookEvent[] | null;

  @Field(() => String, { nullable: true })
  @MaxLength(512)
  description?: string | null;

  @Field(() => Boolean, { nullable: true })
  active?: boolean | null;
}

@ObjectType()
export class CreatedWebhook {
  @Field(() => Webhook)
  webhook!: Webhook;

  @Field({
    description:
      'The signing secret. Shown this once: X-Stagewise-Signature is sha256=<hex HMAC-SHA256 of the raw body with it>.',
  })
  secret!: string;
}

@ArgsType()
export class WebhookDeliveriesArgs extends PageArgs {
  @Field(() => ID)
  webhookId!: string;
}
