/**
 * String helpers shared by the grading rules (SPEC.md). Python mirrors each one in
 * gpu_runner/grading/text.py; they avoid JavaScript's Unicode-aware trim so both sides strip the
 * same characters.
 */

const WS = ' \t\n\r\f\v';

/** Trims exactly ` \t\n\r\f\v` (String.prototype.trim would also strip Unicode spaces). */
export function trimWs(s: string): string {
  return stripChars(s, WS);
}

/**
 * Strips any of `chars` from both ends. A loop, not a regex: `/[* ]+$/` backtracks
 * quadratically on a megabyte of `*`.
 */
export function stripChars(s: string, chars: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && chars.includes(s[start])) start++;
  while (end > start && chars.includes(s[end - 1])) end--;
  return s.slice(start, end);
}

/** Strips trailing `.` and whitespace ("42." is "42"). */
export function stripTrailingDots(s: string): string {
  let end = s.length;
  while (end > 0 && (s[end - 1] === '.' || WS.includes(s[end - 1]))) end--;
  return s.slice(0, end);
}

/**
 * The index of the `}` that closes the `{` at `open`, or -1. A backslash escapes the next
 * character, so `\{` and `\}` inside do not count.
 */
export function matchingBrace(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') i++;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i;
  }
  return -1;
}

const OPENERS = '([{';
const CLOSERS = ')]}';

/**
 * Bracket depth changes at `s[i]`: +1 for `( [ {`, -1 for `) ] }`, 0 otherwise. Escaped set
 * braces `\{ \}` count like plain ones (the backslash itself is 0).
 */
export function bracketDelta(c: string): number {
  if (OPENERS.includes(c)) return 1;
  if (CLOSERS.includes(c)) return -1;
  return 0;
}
