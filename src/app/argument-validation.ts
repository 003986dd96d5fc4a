import { validateOrReject, type ValidatorOptions } from 'class-validator';
import { ArgumentValidationError, type ValidatorFn } from 'type-graphql';

// type-graphql's own defaults for class-validator.
const OPTIONS: ValidatorOptions = { skipMissingProperties: true, forbidUnknownValues: false };

/** Per request (per context object): the validation of each field node's argument of each type. */
const validated = new WeakMap<object, Map<unknown, Map<unknown, Promise<void>>>>();

async function validate(value: object): Promise<void> {
  try {
    if (Array.isArray(value)) {
      await Promise.all(
        value
          .filter((v): v is object => v !== null && typeof v === 'object')
          .map((v) => validateOrReject(v, OPTIONS)),
      );
    } else {
      await validateOrReject(value, OPTIONS);
    }
  } catch (err) {
    throw new ArgumentValidationError(
      err as ConstructorParameters<typeof ArgumentValidationError>[0],
    );
  }
}

/**
 * class-validator on input objects, as type-graphql does by default, but once per field of the
 * query rather than once per resolved value: `samples { traces(first: 10) }` over 100 samples
 * validated the same `first` 100 times. Within one request a field's arguments come from the same
 * document node and the same variables, so they are the same values every time.
 */
export const validateOncePerRequest: ValidatorFn = (value, argType, { context, info }) => {
  if (value === null || typeof value !== 'object') return;
  let byNode = validated.get(context);
  if (!byNode) validated.set(context, (byNode = new Map<unknown, Map<unknown, Promise<void>>>()));
  const node = info.fieldNodes[0];
  let byType = byNode.get(node);
  if (!byType) byNode.set(node, (byType = new Map<unknown, Promise<void>>()));
  let done = byType.get(argType);
  if (!done) byType.set(argType, (done = validate(value as object)));
  return done;
};
