import type { EntityManager } from 'typeorm';
import { ManifestPurpose } from './manifest.entity';

/**
 * Decontamination: no sample whose problem overlaps an EVAL sample enters a manifest that trains.
 *
 * The rule, the same for both sides and computed by the same SQL:
 * - Normalise the problem text: Unicode NFKC, then lowercase; every run of characters that is
 *   not a letter or a digit (punctuation, symbols, whitespace) becomes one space; trimmed.
 * - Words are what the spaces separate; grams are the windows of GRAM_WORDS (13) consecutive
 *   words. A text of fewer than 13 words is one gram of all its words, so a short problem is
 *   caught only when its normalised text equals a short EVAL problem. A text with no letter or
 *   digit has no gram.
 * - A sample is contaminated when one of its grams is a gram of any sample of any EVAL dataset.
 *   Grams are compared as 64-bit hashes (hash_array_extended); a false match needs a collision.
 *
 * Only the problem text is checked, not the trace an item carries: benchmarks leak through
 * their questions, the standard check (GPT-3, Llama, Tulu) is prompt against prompt, and traces
 * are the big table (k per sample per round), so checking them would multiply the cost for
 * little. An EVAL sample put in a training manifest overlaps itself, and is left out like any
 * other. Text without spaces between words (Chinese, Japanese) is one "word" per run, so it is
 * effectively compared whole.
 *
 * The work is set-based: the EVAL grams are hashed once per freeze into a temporary table, and
 * the grams of the manifest's samples, generated in SQL, stream through a hash join against it
 * in the freeze's own statement; nothing of the training side passes through Node.
 */
export const GRAM_WORDS = 13;

/** The purposes whose manifests train a model, and so are decontaminated. */
export const TRAINING_PURPOSES: ReadonlySet<ManifestPurpose> = new Set([
  ManifestPurpose.SFT,
  ManifestPurpose.RL,
  ManifestPurpose.BRIDGE,
  ManifestPurpose.CRITIQUE,
]);

/**
 * Collations whose lower() and regex classes know Unicode, in order of preference. The database
 * default may be the C locale (an embedded PostgreSQL started without LANG), under which é is
 * neither lowercased nor a letter, so the rule names its collation instead of inheriting one.
 */
const UNICODE_COLLATIONS = ['und-x-icu', 'pg_unicode_fast', 'pg_c_utf8', 'C.utf8', 'C.UTF-8'];

/**
 * SQL: the normalised words of a text expression, as text[] (NULL when it has none). ASCII text
 * is its own NFKC form, and normalize() is the costliest step, so it is skipped for ASCII.
 */
function wordsSql(text: string, collation: string): string {
  const nfkc = `CASE WHEN octet_length(${text}) = char_length(${text}) THEN ${text} ELSE normalize(${text}, NFKC) END`;
  const spaced = `regexp_replace(lower(${nfkc} COLLATE "${collation}"), '[^[:alnum:]]+', ' ', 'g')`;
  return `string_to_array(NULLIF(btrim(${spaced}), ''), ' ')`;
}

/**
 * SQL: the words of each row of `rowsSql` (columns `sample_id`, `problem`), computed once per
 * row: OFFSET 0 keeps the planner from inlining them into every gram.
 */
function sampleWordsSql(rowsSql: string, collation: string): string {
  return `SELECT r.sample_id, w.words FROM (${rowsSql}) r
          CROSS JOIN LATERAL (SELECT ${wordsSql('r.problem', collation)} AS words OFFSET 0) w`;
}

/**
 * SQL: one row `h` per gram of a text[] of words: a 64-bit hash of the gram's words. One row per
 * gram (not an array) on purpose: generate_series' row estimate keeps the training side the
 * big, streamed side of the join.
 */
function gramsSql(words: string): string {
  return `SELECT hash_array_extended(${words}[i : i + ${GRAM_WORDS - 1}], 0) AS h
          FROM generate_series(1, greatest(cardinality(${words}) - ${GRAM_WORDS - 1}, 1)) AS i`;
}

/** This freeze's EVAL grams: a temporary table, dropped at commit at the latest. */
const EVAL_GRAMS = 'pg_temp.freeze_eval_grams';

/** A prepared check: the EVAL grams are hashed and ready to join. */
export interface Decontaminator {
  /**
   * SQL finding the contaminated samples among `candidatesSql` (a SELECT with a `sample_id`
   * column): one row per contaminated sample, with `sample_id`, `eval_sample_id` (the EVAL
   * sample sharing the most grams, then the lowest id) and `reason`.
   */
  hitsSql(candidatesSql: string): string;
  /** Drops the EVAL gram table (it would go at commit anyway). */
  release(): Promise<void>;
}

/**
 * Hashes the grams of every EVAL sample into a temporary table (in `manager`'s transaction),
 * analysed so that the planner hash-joins the training side against it as a stream. Null when
 * there is no EVAL sample: nothing to check against.
 */
export async function prepareDecontamination(
  manager: EntityManager,
): Promise<Decontaminator | null> {
  const [probe] = await manager.query<{ has_eval: boolean; collation: string | null }[]>(
    `SELECT EXISTS (SELECT 1 FROM samples s JOIN datasets d ON d.id = s.dataset_id
                    WHERE d.split = 'EVAL') AS has_eval,
            (SELECT collname FROM pg_collation
             WHERE collname = ANY($1::text[])
               AND collencoding IN (-1, pg_char_to_encoding(getdatabaseencoding()))
             ORDER BY array_position($1::text[], collname::text) LIMIT 1) AS collation`,
    [UNICODE_COLLATIONS],
  );
  if (!probe.has_eval) return null;
  // The name comes from UNICODE_COLLATIONS, never from a user.
  const collation = probe.collation ?? 'default';
  await manager.query(`DROP TABLE IF EXISTS ${EVAL_GRAMS}`);
  await manager.query(
    `CREATE TEMPORARY TABLE freeze_eval_grams ON COMMIT DROP AS
     SELECT DISTINCT g.h, w.sample_id AS eval_sample_id
     FROM (${sampleWordsSql(
       `SELECT s.id AS sample_id, s.problem FROM samples s
        JOIN datasets d ON d.id = s.dataset_id WHERE d.split = 'EVAL'`,
       collation,
     )}) w
     CROSS JOIN LATERAL (${gramsSql('w.words')}) g`,
  );
  await manager.query(`ANALYZE ${EVAL_GRAMS}`);
  return {
    hitsSql: (candidatesSql) => `
      WITH pairs AS (
        SELECT t.sample_id, e.eval_sample_id, bool_or(t.short) AS short, count(DISTINCT t.h) AS shared
        FROM (SELECT w.sample_id, cardinality(w.words) < ${GRAM_WORDS} AS short, g.h
              FROM (${sampleWordsSql(
                `SELECT c.sample_id, s.problem FROM (${candidatesSql}) c
                 JOIN samples s ON s.id = c.sample_id`,
                collation,
              )}) w
              CROSS JOIN LATERAL (${gramsSql('w.words')}) g) t
        JOIN ${EVAL_GRAMS} e ON e.h = t.h
        GROUP BY t.sample_id, e.eval_sample_id
      )
      SELECT DISTINCT ON (sample_id) sample_id, eval_sample_id,
             CASE WHEN short
                  THEN 'same text as an EVAL sample (fewer than ${GRAM_WORDS} words, compared whole)'
                  ELSE '${GRAM_WORDS}-gram overlap with an EVAL sample (' || shared || ' shared)'
             END AS reason
      FROM pairs ORDER BY sample_id, shared DESC, eval_sample_id`,
    release: async () => {
      await manager.query(`DROP TABLE IF EXISTS ${EVAL_GRAMS}`);
    },
  };
}
