/**
 * The names `stagewise import` checks its command line against: the formats and the fields of a
 * column mapping. They live apart from the converters so that the usage text and the argument
 * checks load nothing else; the converters throw the API's coded errors (common/errors, which
 * loads graphql), and every other command would pay for that at start-up.
 */

export type ImportFormat = 'gsm8k' | 'math' | 'jsonl' | 'parquet';
export const IMPORT_FORMATS: ImportFormat[] = ['gsm8k', 'math', 'jsonl', 'parquet'];

/** The fields of a sample that `--map` fills from one column each. */
export const SINGLE_FIELDS = ['problem', 'answer', 'externalId', 'domain', 'trace'] as const;
export type SingleField = (typeof SINGLE_FIELDS)[number];

export const MAPPING_FIELDS = `${SINGLE_FIELDS.join(', ')}, tags, metadata.KEY`;
