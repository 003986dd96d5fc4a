/**
 * The statistics an experiment reports: a 95% t-interval of an arm's accuracy over seeds and an
 * exact McNemar test of two arms over the same eval problems. Pure functions, pinned by
 * tests/experiment-stats.test.ts with hand-computed inputs.
 */

/** Two-sided 97.5% quantiles of Student's t for 1-30 degrees of freedom (then the normal's). */
const T_975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145,
  2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048,
  2.045, 2.042,
];

export function tQuantile975(df: number): number {
  if (df < 1) throw new RangeError('a t-interval needs at least 2 values');
  return df <= T_975.length ? T_975[df - 1] : 1.96;
}

export interface Interval {
  mean: number;
  /** null with one value: one seed gives no interval. */
  low: number | null;
  high: number | null;
}

/** Mean and 95% t-interval (mean ± t·s/√n, s the sample standard deviation). */
export function tInterval95(values: number[]): Interval {
  if (values.length === 0) throw new RangeError('no values');
  const n = values.length;
  const mean = values.reduce((a, v) => a + v, 0) / n;
  if (n < 2) return { mean, low: null, high: null };
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1);
  const half = (tQuantile975(n - 1) * Math.sqrt(variance)) / Math.sqrt(n);
  return { mean, low: mean - half, high: mean + half };
}

/**
 * Exact two-sided McNemar p-value from the discordant pairs: b problems only A solved, c only
 * B solved. Under the null each discordant pair goes either way with probability 1/2, so
 * p = min(1, 2·P(X ≤ min(b, c))) with X ~ Binomial(b + c, 1/2). No discordant pair: p = 1.
 */
export function mcnemarExact(b: number, c: number): number {
  const n = b + c;
  if (n === 0) return 1;
  const k = Math.min(b, c);
  // Sum C(n, i)/2^n in log space: n can be thousands (problems × seeds).
  let logC = 0; // log C(n, 0)
  let tail = 0;
  for (let i = 0; i <= k; i++) {
    if (i > 0) logC += Math.log(n - i + 1) - Math.log(i);
    tail += Math.exp(logC - n * Math.LN2);
  }
  return Math.min(1, 2 * tail);
}

/**
 * Discordant counts of arm A against arm B, pairing seed i of A with seed i of B on the same
 * problem (each map: sample id -> correct). Problems missing from either side are skipped.
 */
export function discordantPairs(
  a: Map<string, boolean>[],
  b: Map<string, boolean>[],
): { onlyA: number; onlyB: number; pairs: number } {
  let onlyA = 0;
  let onlyB = 0;
  let pairs = 0;
  for (let s = 0; s < Math.min(a.length, b.length); s++) {
    for (const [problem, aCorrect] of a[s]) {
      const bCorrect = b[s].get(problem);
      if (bCorrect === undefined) continue;
      pairs++;
      if (aCorrect && !bCorrect) onlyA++;
      if (bCorrect && !aCorrect) onlyB++;
    }
  }
  return { onlyA, onlyB, pairs };
}
