import { CreateDateColumn } from 'typeorm';
import { Field, ID, InterfaceType, ObjectType } from 'type-graphql';
import { toGlobalId } from '../ids';

/** Any object that can be fetched by its global id through `node(id)`. */
@InterfaceType({ description: 'An object with a global id, fetchable through node(id).' })
export abstract class Node {
  @Field(() => ID, { name: 'id', description: 'Global id (opaque).' })
  get nodeId(): string {
    return toGlobalId(this.constructor.name, (this as unknown as { id: string | number }).id);
  }
}

/** Shared columns of every table: a primary key (declared by each entity) and createdAt. */
@ObjectType()
export abstract class BaseRow extends Node {
  abstract id: string | number;

  @Field()
  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;
}
