/**
 * Extraction (SPEC.md §1): which part of a model's output is its final answer. Every rule is a
 * single left-to-right pass, so megabytes of unclosed `\boxed{` cost one scan, not a quadratic
 * search.
 */
import { bracketDelta, stripChars, stripTrailingDots, trimWs } from './text';

// `\\`, `\{`, `\}` are escapes (skipped); `\boxed{` / `\fbox{` open an answer; `{` `}` nest.
const BRACE_TOKENS = /\\\\|\\[{}]|\\(?:boxed|fbox)[ \t\r\n]*\{|[{}]/g;
const THE_ANSWER_IS = /the[ \t]+(?:final[ \t]+)?answer[ \t]+is(?![A-Za-z])[ \t]*:?/gi;
const HASHES = /#{4,}/g;
const ANSWER_COLON = /(?<![A-Za-z])answer[ \t]*:/gi;
const NUMBER = /-?[0-9]+(?:,[0-9]{3}(?![0-9]))*(?:\.[0-9]+)?/g;

/** The final answer in a model's output, or null when it gives none. */
export function extractAnswer(output: string): string | null {
  return (
    lastBoxed(output) ??
    phraseAnswer(output, THE_ANSWER_IS) ??
    phraseAnswer(output, HASHES) ??
    phraseAnswer(output, ANSWER_COLON) ??
    lastNumber(output)
  );
}

/** The content of the `\boxed{}` / `\fbox{}` group that closes last (brace-matched). */
function lastBoxed(text: string): string | null {
  const stack: number[] = []; // content start of an open \boxed{, or -1 for a plain {
  let found: string | null = null;
  for (const m of text.matchAll(BRACE_TOKENS)) {
    const token = m[0];
    if (token === '{') stack.push(-1);
    else if (token === '}') {
      const start = stack.pop();
      if (start !== undefined && start >= 0) {
        const inner = trimWs(text.slice(start, m.index));
        if (inner) found = inner;
      }
    } else if (token.length > 2) stack.push(m.index + token.length); // \boxed{ or \fbox{
  }
  return found;
}

/** The cleaned rest of the line after the last match of `phrase`, or null. */
function phraseAnswer(text: string, phrase: RegExp): string | null {
  let end = -1;
  for (const m of text.matchAll(phrase)) end = m.index + m[0].length;
  if (end < 0) return null;
  const newline = text.indexOf('\n', end);
  const answer = cleanPhrase(text.slice(end, newline < 0 ? text.length : newline));
  return answer || null;
}

/** A phrase answer without Markdown bold, math delimiters' surroundings, or the next sentence. */
function cleanPhrase(raw: string): string {
  let s = stripChars(trimWs(raw), '* \t');
  const delimited = [
    ['$$', '$$'],
    ['$', '$'],
    ['\\(', '\\)'],
  ].find(([open]) => s.startsWith(open));
  if (delimited) {
    const [open, close] = delimited;
    const j = s.indexOf(close, open.length);
    if (j >= 0) s = s.slice(0, j + close.length);
  } else {
    s = s.slice(0, sentenceEnd(s));
  }
  return stripTrailingDots(trimWs(s));
}

/** Where the answer's sentence ends: a depth-0 `. `, `;`, or `, ` before a lowercase word. */
function sentenceEnd(s: string): number {
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    depth += bracketDelta(c);
    if (depth > 0) continue;
    if (c === '.' && (s[i + 1] === ' ' || s[i + 1] === '\t')) return i;
    if (c === ';') return i;
    if (c === ',' && s[i + 1] === ' ' && /^[a-z]{2}/.test(s.slice(i + 2, i + 4))) return i;
  }
  return s.length;
}

/** The last number in the text, without thousands separators; a `-` after `19` is a minus. */
function lastNumber(text: string): string | null {
  let last: RegExpExecArray | null = null;
  for (const m of text.matchAll(NUMBER)) last = m;
  if (!last) return null;
  let n = last[0];
  if (n.startsWith('-') && last.index > 0 && /[A-Za-z0-9)]/.test(text[last.index - 1])) {
    n = n.slice(1);
  }
  return n.replace(/,/g, '');
}
