/**
 * The values an adversarial client sends, as fast-check arbitraries: strings PostgreSQL or
 * JavaScript choke on, numbers at and past every limit, and ids that look right but are not.
 */
import fc from 'fast-check';
import { toGlobalId } from '../../src/common/ids';

/** One mebibyte of text: twice the usual field limit, half the GraphQL body limit. */
const ONE_MB = 'x'.repeat(1 << 20);

/** Strings that broke servers somewhere: NUL, lone surrogates, bidi controls, SQL and JSON text. */
export const oddString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    '\u0000',
    'a\u0000b',
    '\ud800',
    '\udfff',
    'x\udc00y',
    '\u202eevil\u202c',
    'مرحبا بالعالم',
    'שָׁלוֹם',
    '\u200f\u200e',
    '\ufeff',
    '\uffff',
    '😀👩‍👩‍👧',
    "'; DROP TABLE samples; --",
    '%ff%00',
    '\\',
    '"}{',
    ' ',
    '\n\r\t',
    'null',
    '{"a":1}',
    'Run:1',
    '../../etc/passwd',
    ONE_MB,
    '\u0000'.repeat(1000),
  ),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ maxLength: 20 }),
);

/** Integers at the edges of GraphQL's Int, JavaScript's safe range and beyond. */
export const extremeInt: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, -1, 1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, 2 ** 53, -(2 ** 53)),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, 1e308, -1e308, 500, 501, 1_000_000),
  fc.integer({ min: -1000, max: 1000 }),
  fc.integer(),
);

/** Floats including the extremes JSON can carry (NaN and Infinity become null in JSON). */
export const extremeFloat: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, -0, 1, -1, 0.5, 1.0000001, 5e-324, 1.7976931348623157e308, -1e308),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

const TYPES = [
  'Run',
  'Dataset',
  'Sample',
  'Trace',
  'Checkpoint',
  'Webhook',
  'ApiKey',
  'Curriculum',
];

/** Global ids of every type, existing or not, plus forged and malformed ones. */
export const hostileId: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(fc.constantFrom(...TYPES), fc.oneof(fc.integer({ min: 1, max: 5 }), extremeInt))
    .map(([type, id]) => toGlobalId(type, String(id))),
  fc
    .tuple(fc.constantFrom(...TYPES), oddString)
    .map(([type, id]) => Buffer.from(`${type}:${id}`).toString('base64url')),
  oddString,
);

/** Any JSON value, deep or wide, with odd strings as keys and values. */
export const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.dictionary(
    oddString.filter((s) => s.length < 100),
    oddString,
    { maxKeys: 4 },
  ),
  // Deep enough to pass every depth limit; JSON.stringify itself stays within the stack.
  fc.integer({ min: 1, max: 1000 }).map((depth) => nested(depth)),
);

/** `{"a":{"a":...}}` `depth` levels deep. */
export function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let k = 0; k < depth; k++) value = { a: value };
  return value;
}

/** Nesting as text, as deep as a parser can be pushed (no object is built on our side). */
export const deepJsonText = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
