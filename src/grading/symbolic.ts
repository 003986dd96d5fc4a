/**
 * Symbolic equivalence (SPEC.md §4): both trees evaluated by mathjs at the spec's fixed points.
 * Python evaluates the same trees with SymPy; the verdict rule below is shared, so neither
 * library's simplifier decides.
 */
import type * as MathJs from 'mathjs' with { 'resolution-mode': 'import' };
import { close } from './numbers';
import { toExpr, variables, type Expr } from './latex-expr';

const POINT_TABLE = [
  0.3183, 1.2021, -0.7391, 2.6854, -1.3247, 0.8147, -2.1753, 3.3017, 0.1357, -0.4621,
];
const POINTS = 5;
const MAX_VARIABLES = 4;

/**
 * The work one `isEquivalent` call may still spend on symbolic comparisons, counted in tree nodes
 * evaluated (a tree of n nodes at the 5 points costs 5n). A count, not a clock: the verdict must
 * not depend on how busy the machine is or on how long the library took to load.
 */
export interface Budget {
  steps: number;
}

/** Enough for a 32-element set of small expressions compared pairwise; a few tenths of a second. */
export const SYMBOLIC_STEP_BUDGET = 200_000;

/** Value pairs to compare: each side divided by its scale (100 for a percent reading). */
export type Scales = [number, number][];

// mathjs takes about half a second to load, and most graded answers are plain numbers that
// never reach this file: load it on first use, synchronously (grading is synchronous).
let mathjs: typeof MathJs | undefined;
function library(): typeof MathJs {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy synchronous load
  return (mathjs ??= require('mathjs') as typeof MathJs);
}

/** Whether two normalised scalars are the same expression by SPEC.md §4. */
export function symbolicEqual(a: string, b: string, scales: Scales, budget: Budget): boolean {
  const ea = toExpr(a);
  const eb = ea && toExpr(b);
  if (!ea || !eb) return false;
  const vars = variables(ea, eb);
  if (vars.length > MAX_VARIABLES) return false;
  const cost = POINTS * (nodeCount(ea) + nodeCount(eb));
  if (cost > budget.steps) return false;
  budget.steps -= cost;
  const values = evaluateAtPoints([ea, eb], pointsFor(vars));
  return scales.some(([sa, sb]) => agreeAtPoints(values[0], values[1], sa, sb));
}

/** Point k gives variable j the value T[(3k + j) mod 10]. */
function pointsFor(vars: string[]): Record<string, number>[] {
  return Array.from({ length: POINTS }, (_, k) =>
    Object.fromEntries(vars.map((v, j) => [v, POINT_TABLE[(3 * k + j) % POINT_TABLE.length]])),
  );
}

/** Equal where both are defined, undefined at the same points, and defined somewhere. */
function agreeAtPoints(a: (number | null)[], b: (number | null)[], sa: number, sb: number) {
  let both = 0;
  for (let k = 0; k < a.length; k++) {
    const x = a[k];
    const y = b[k];
    if ((x === null) !== (y === null)) return false;
    if (x !== null && y !== null) {
      if (!close(x / sa, y / sb)) return false;
      both++;
    }
  }
  return both > 0;
}

/** The number of nodes in a tree (toExpr caps it, so this stays small). */
function nodeCount(e: Expr): number {
  switch (e[0]) {
    case 'num':
    case 'var':
    case 'const':
      return 1;
    case 'neg':
      return 1 + nodeCount(e[1]);
    case 'call':
      return 1 + nodeCount(e[2]);
    default:
      return 1 + nodeCount(e[1]) + nodeCount(e[2]);
  }
}

/** Each tree's value at each point (null: undefined there). */
function evaluateAtPoints(exprs: Expr[], points: Record<string, number>[]): (number | null)[][] {
  const math = library();
  const out: (number | null)[][] = [];
  for (const e of exprs) {
    const compiled = math.compile(toMathjs(e));
    const values: (number | null)[] = [];
    for (const p of points) {
      const scope = Object.fromEntries(Object.entries(p).map(([v, x]) => [`v_${v}`, x]));
      let value: unknown;
      try {
        value = compiled.evaluate(scope);
      } catch {
        value = undefined; // an evaluation error is a point where the expression is undefined
      }
      values.push(definedValue(math, value));
    }
    out.push(values);
  }
  return out;
}

/** A finite real value; a complex one counts as real when its imaginary part is rounding. */
function definedValue(math: typeof MathJs, v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (math.isComplex(v)) {
    const { re, im } = v;
    if (!Number.isFinite(re) || !Number.isFinite(im)) return null;
    return Math.abs(im) <= 1e-12 * Math.max(1, Math.abs(re)) ? re : null;
  }
  return null;
}

/** The tree in mathjs syntax, every node parenthesised so no precedence rule of mathjs applies. */
function toMathjs(e: Expr): string {
  switch (e[0]) {
    case 'num':
      return e[1].startsWith('.') ? `0${e[1]}` : e[1];
    case 'var':
      return `v_${e[1]}`;
    case 'const':
      return e[1];
    case 'neg':
      return `(-${toMathjs(e[1])})`;
    case 'call':
      return `${e[1]}(${toMathjs(e[2])})`;
    default: {
      const op = { add: '+', sub: '-', mul: '*', div: '/', pow: '^' }[e[0]];
      return `(${toMathjs(e[1])} ${op} ${toMathjs(e[2])})`;
    }
  }
}
