/**
 * Plain numbers (SPEC.md §3.5): the fast path that decides `14` vs `14.0`, `\frac{1}{2}` vs
 * `0.5` or `2\frac{1}{2}` vs `2.5` without parsing an expression. Grading ~10^4 rollouts of a
 * numeric task stays on this path.
 */

const N = '(?:[0-9]+(?:\\.[0-9]+)?|\\.[0-9]+)(?:[eE][-+]?[0-9]+)?';
const PLAIN = new RegExp(`^(-?)(${N})$`);
const SLASH = new RegExp(`^(-?)(${N})/(${N})$`);
const FRAC = new RegExp(`^(-?)\\\\frac\\{(-?${N})\\}\\{(-?${N})\\}$`);
const MIXED = /^(-?)([0-9]+)\\frac\{([0-9]+)\}\{([0-9]+)\}$/;

/** The value of a normalised plain number, or null when `s` is anything else. */
export function plainNumber(s: string): number | null {
  let m = PLAIN.exec(s);
  if (m) return finite(sign(m[1]) * Number(m[2]));
  m = SLASH.exec(s) ?? FRAC.exec(s);
  if (m) return ratio(sign(m[1]), Number(m[2]), Number(m[3]));
  m = MIXED.exec(s);
  if (m) {
    const frac = ratio(1, Number(m[3]), Number(m[4]));
    return frac === null ? null : finite(sign(m[1]) * (Number(m[2]) + frac));
  }
  return null;
}

/** Numbers equal within 1e-6 relative, with a 1e-12 floor for values that should be zero. */
export function close(a: number, b: number): boolean {
  return Math.abs(a - b) <= Math.max(1e-6 * Math.max(Math.abs(a), Math.abs(b)), 1e-12);
}

function sign(minus: string): number {
  return minus ? -1 : 1;
}

function ratio(s: number, num: number, den: number): number | null {
  return den === 0 ? null : finite(s * (num / den));
}

function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}
