/**
 * Equivalence (SPEC.md §3): normalised strings, then unions, shapes (sets, tuples, intervals,
 * lists) element by element, then scalars: plain numbers on a fast path, percent readings, and
 * symbolic equality last.
 */
import { normalize } from './normalize';
import { close, plainNumber } from './numbers';
import { SYMBOLIC_STEP_BUDGET, symbolicEqual, type Budget, type Scales } from './symbolic';
import { bracketDelta, trimWs } from './text';

const MAX_ANSWER_CHARS = 1000;
const MAX_ITEMS = 32;
const MAX_NESTING = 3;
const WORD = /^[A-Za-z]{2,}$/;

/** Whether an extracted answer is equivalent to the gold answer (never throws, never hangs). */
export function isEquivalent(extracted: string | null, gold: string): boolean {
  if (extracted === null) return false;
  if (extracted.length > MAX_ANSWER_CHARS || gold.length > MAX_ANSWER_CHARS) {
    const a = trimWs(extracted);
    return a !== '' && a === trimWs(gold);
  }
  const a = normalize(extracted);
  const b = normalize(gold);
  if (!a || !b) return false;
  return sameValue(a, b, 0, { steps: SYMBOLIC_STEP_BUDGET });
}

function sameValue(a: string, b: string, depth: number, budget: Budget): boolean {
  if (a === b) return true;
  if (depth > MAX_NESTING) return false;
  const ua = splitTop(a, '\\cup');
  const ub = splitTop(b, '\\cup');
  if (ua.length > 1 || ub.length > 1) {
    return ua.length === ub.length && ua.every((x, i) => sameValue(x, ub[i], depth + 1, budget));
  }
  const sa = shape(a);
  const sb = shape(b);
  if (sa.kind !== sb.kind) return false;
  if (sa.kind === 'scalar') return sameScalar(a, b, budget);
  if (sa.items.length !== sb.items.length || sa.items.length > MAX_ITEMS) return false;
  if (sa.kind === 'tuple') {
    return (
      sa.open === sb.open &&
      sa.close === sb.close &&
      sa.items.every((x, i) => sameValue(x, sb.items[i], depth + 1, budget))
    );
  }
  // Sets and bare lists are unordered: match each answer element to a distinct gold element.
  const used = sb.items.map(() => false);
  return sa.items.every((x) => {
    const j = sb.items.findIndex((y, k) => !used[k] && sameValue(x, y, depth + 1, budget));
    if (j < 0) return false;
    used[j] = true;
    return true;
  });
}

interface Shape {
  kind: 'scalar' | 'set' | 'tuple' | 'list';
  items: string[];
  open: string;
  close: string;
}

/** SPEC.md §3.3: `\{a,b\}` set, `(a,b]` tuple or interval, `a,b` list, else scalar. */
function shape(s: string): Shape {
  const n = s.length;
  if (s.startsWith('\\{') && s.endsWith('\\}') && n >= 4 && closesAtEnd(s, 1)) {
    return { kind: 'set', items: splitTop(s.slice(2, -2), ','), open: '{', close: '}' };
  }
  if ('(['.includes(s[0]) && ')]'.includes(s[n - 1]) && n >= 2 && closesAtEnd(s, 0)) {
    const items = splitTop(s.slice(1, -1), ',');
    if (items.length > 1) return { kind: 'tuple', items, open: s[0], close: s[n - 1] };
  }
  const items = splitTop(s, ',');
  if (items.length > 1) return { kind: 'list', items, open: '', close: '' };
  return { kind: 'scalar', items: [s], open: '', close: '' };
}

/** Whether the bracket at `open` closes exactly at the end of `s`. */
function closesAtEnd(s: string, open: number): boolean {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    depth += bracketDelta(s[i]);
    if (depth <= 0) return i === s.length - 1;
  }
  return false;
}

/** `s` split at each `sep` outside brackets (`\cup` only where no letter follows). */
function splitTop(s: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    depth += bracketDelta(s[i]);
    if (depth > 0 || !s.startsWith(sep, i)) continue;
    if (sep === '\\cup' && /^[A-Za-z]$/.test(s[i + sep.length] ?? '')) continue;
    parts.push(s.slice(start, i));
    start = i + sep.length;
    i = start - 1;
  }
  parts.push(s.slice(start));
  return parts;
}

/** SPEC.md §3.4-3.6: words, percent readings, plain numbers, then symbolic. */
function sameScalar(a: string, b: string, budget: Budget): boolean {
  if (a === b) return true;
  if (WORD.test(a) && WORD.test(b)) return a.toLowerCase() === b.toLowerCase();
  const [x, px] = stripPercent(a);
  const [y, py] = stripPercent(b);
  // With a sign on both sides the numbers compare as written; with one, that side may also be
  // read divided by 100 (50% vs 0.5).
  const scales: Scales = [[1, 1]];
  if (px && !py) scales.push([100, 1]);
  if (py && !px) scales.push([1, 100]);
  const nx = plainNumber(x);
  const ny = plainNumber(y);
  if (nx !== null && ny !== null) return scales.some(([sx, sy]) => close(nx / sx, ny / sy));
  return symbolicEqual(x, y, scales, budget);
}

function stripPercent(s: string): [string, boolean] {
  return s.endsWith('%') ? [s.slice(0, -1), true] : [s, false];
}
