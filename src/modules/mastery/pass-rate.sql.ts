/**
 * Pass rates are kept set-based: every batch of newly graded rollouts becomes one upsert into
 * pass_rates, never one statement per row. The Wilson score interval (95%) is computed in SQL
 * from the new totals, so it is always consistent with attempts and successes.
 */
const Z = 1.959963984540054;
const Z2 = Z * Z;

/** SQL for one bound of the Wilson 95% interval of s successes in n attempts (0 when n = 0). */
export function wilsonSql(s: string, n: string, bound: 'low' | 'high'): string {
  const p = `((${s})::float8 / (${n}))`;
  const sign = bound === 'low' ? '-' : '+';
  return `CASE WHEN (${n}) = 0 THEN 0 ELSE greatest(0::float8, least(1::float8,
    (${p} + ${Z2} / (2 * (${n})) ${sign} ${Z} * sqrt(${p} * (1 - ${p}) / (${n}) + ${Z2} / (4 * (${n})::float8 ^ 2)))
    / (1 + ${Z2} / (${n})))) END`;
}

/** The same bounds in TypeScript, for tests and for answers computed outside SQL. */
export function wilsonInterval(s: number, n: number): { low: number; high: number } {
  if (n === 0) return { low: 0, high: 0 };
  const p = s / n;
  const centre = p + Z2 / (2 * n);
  const half = Z * Math.sqrt((p * (1 - p)) / n + Z2 / (4 * n * n));
  const clamp = (x: number) => Math.min(1, Math.max(0, x));
  return {
    low: clamp((centre - half) / (1 + Z2 / n)),
    high: clamp((centre + half) / (1 + Z2 / n)),
  };
}

/**
 * The upsert that adds tallies of graded attempts to pass_rates. `source` is a relation (a CTE
 * name) with columns sample_id, checkpoint_id, attempts, successes, grader_version; it is
 * grouped again here, so a source may name a (sample, checkpoint) more than once.
 */
export function upsertPassRatesSql(source: string): string {
  const s = 'sum(successes)';
  const n = 'sum(attempts)';
  const S = '(pass_rates.successes + EXCLUDED.successes)';
  const N = '(pass_rates.attempts + EXCLUDED.attempts)';
  return `INSERT INTO pass_rates (sample_id, checkpoint_id, attempts, successes, rate, wilson_low,
                           wilson_high, grader_version)
    SELECT sample_id, checkpoint_id, ${n}, ${s}, ${s}::float8 / ${n},
           ${wilsonSql(s, n, 'low')}, ${wilsonSql(s, n, 'high')}, max(grader_version)
    FROM ${source} WHERE checkpoint_id IS NOT NULL AND attempts > 0
    GROUP BY sample_id, checkpoint_id
    ON CONFLICT (sample_id, checkpoint_id) DO UPDATE SET
      attempts = ${N}, successes = ${S}, rate = ${S}::float8 / ${N},
      wilson_low = ${wilsonSql(S, N, 'low')}, wilson_high = ${wilsonSql(S, N, 'high')},
      grader_version = EXCLUDED.grader_version, updated_at = now()`;
}
