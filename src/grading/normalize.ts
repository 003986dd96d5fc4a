/**
 * Normalisation (SPEC.md §2): the rewrites that make `$\dfrac{1}{2}$`, `\frac12` and `1/2`, or
 * `5\text{ cm}` and `5`, compare equal as strings before any number or symbolic comparison. The
 * steps run in the spec's order; Python's `normalize` in gpu_runner/grading/normalize.py is the
 * same list, line for line.
 */
import { matchingBrace, stripTrailingDots, trimWs } from './text';

const UNICODE: [RegExp, string][] = [
  [/\u2212/g, '-'],
  [/[\u00d7\u00b7\u22c5]/g, '*'],
  [/\u00f7/g, '/'],
  [/\u03c0/g, '\\pi '],
  [/\u221e/g, '\\infty '],
  [/\u221a/g, '\\sqrt'],
  [/\u00b0/g, ''],
  [/[\u00a0\u2009\u202f]/g, ' '],
];

const TEXT_UNIT_AT_END =
  /([0-9}%)]) *\\(?:text|textrm|textnormal|mathrm|mbox)\{ *[A-Za-z][A-Za-z /]*\}(?:\^\{?[0-9]\}?)? *$/;
const TEXT_MACRO =
  /\\(?:text|textrm|textnormal|textbf|textit|mathrm|mathbf|mathit|mbox|operatorname|boldsymbol) *\{([^{}]*)\}/g;
const UNIT_WORDS_AT_END = /([0-9}%)]) +([A-Za-z]{2,}(?: +[A-Za-z]{2,})*)(?:\^\{?[0-9]\}?)? *$/;
const MATH_WORDS = new Set(['pi', 'sqrt', 'sin', 'cos', 'tan', 'log', 'ln', 'exp']);
const VARIABLE_PREFIX = /^ *[A-Za-z](?:_\{?[A-Za-z0-9]+\}?)? *= */;
const THOUSANDS = /^-?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?%?$/;

/** The answer rewritten by SPEC.md §2; answers differing only in notation come out equal. */
export function normalize(answer: string): string {
  let s = answer;
  // 1. Unicode maths symbols
  for (const [re, to] of UNICODE) s = s.replace(re, to);
  // 2. delimiters and sizing
  s = s.replace(/\\\$/g, '').replace(/\$/g, '');
  s = s.replace(/\\[()[\]]/g, '');
  s = s.replace(/\\(?:displaystyle|textstyle)(?![A-Za-z])/g, '');
  s = s.replace(/\\(?:left|right|bigl|bigr|Bigl|Bigr|big|Big)(?![A-Za-z])\.?/g, '');
  // 3. spacing
  s = s
    .replace(/\\[,;:! ]/g, ' ')
    .replace(/\\q?quad(?![A-Za-z])/g, ' ')
    .replace(/~/g, ' ');
  s = stripTrailingDots(trimWs(s));
  // 4. a \boxed{} around the whole answer
  s = unwrapWhole(s, /^\\(?:boxed|fbox) *\{/);
  // 5. a unit in \text{} at the end, after a number
  s = s.replace(TEXT_UNIT_AT_END, '$1');
  // 6. other text macros keep their content
  for (let pass = 0; pass < 3; pass++) s = s.replace(TEXT_MACRO, '$1');
  // 7. degrees (with a Celsius / Fahrenheit letter)
  s = s.replace(/\^\{?\\circ\}?(?: *[CF](?![A-Za-z]))?/g, '');
  s = s.replace(/\\(?:circ|degree)(?![A-Za-z])/g, '');
  // 8. percent
  s = s.replace(/\\%/g, '%').replace(/ *(?:percent|per cent)$/, '%');
  // 9. unit words at the end, after a number
  s = s.replace(UNIT_WORDS_AT_END, (whole: string, before: string, words: string) =>
    words.split(/ +/).some((w) => MATH_WORDS.has(w.toLowerCase())) ? whole : before,
  );
  // 10. commands with a plain spelling
  s = s.replace(/\\[dt]frac(?![A-Za-z])/g, '\\frac');
  s = s.replace(/\\(?:cdot|times)(?![A-Za-z])/g, '*').replace(/\\div(?![A-Za-z])/g, '/');
  s = s.replace(/\\lbrace(?![A-Za-z])/g, '\\{').replace(/\\rbrace(?![A-Za-z])/g, '\\}');
  s = s.replace(/\\[lr]?vert(?![A-Za-z])/g, '|');
  s = s.replace(/_([0-9A-Za-z])/g, '_{$1}'); // a one-character subscript: \log_2 8, x_1 y
  // 11. "x = 5" is 5
  if (s.split('=').length === 2) s = s.replace(VARIABLE_PREFIX, '');
  // 12. whitespace
  s = stripTrailingDots(s.replace(/[ \t\n\r\f\v]+/g, ''));
  // 13. thousands separators
  s = s.replace(/\{,\}/g, ',');
  if (THOUSANDS.test(s)) s = s.replace(/,/g, '');
  // 14. \frac12, \sqrt2
  s = s.replace(/\\frac([0-9A-Za-z])([0-9A-Za-z])/g, '\\frac{$1}{$2}');
  s = s.replace(/\\frac\{([^{}]*)\}([0-9A-Za-z])/g, '\\frac{$1}{$2}');
  s = s.replace(/\\frac([0-9A-Za-z])\{/g, '\\frac{$1}{');
  s = s.replace(/\\sqrt([0-9A-Za-z])/g, '\\sqrt{$1}');
  // 15. signs
  s = s.replace(/\+\\infty/g, '\\infty');
  if (s.startsWith('+')) s = s.slice(1);
  // 16. braces around everything; a multiple-choice letter
  s = unwrapWhole(s, /^\{/);
  return s.replace(/^\(([A-Za-z])\)$/, '$1');
}

/** Repeatedly removes `opener ... }` when that group spans the whole string. */
function unwrapWhole(s: string, opener: RegExp): string {
  for (;;) {
    const m = opener.exec(s);
    if (!m) return s;
    const open = m[0].length - 1;
    if (matchingBrace(s, open) !== s.length - 1) return s;
    s = trimWs(s.slice(open + 1, -1));
  }
}
