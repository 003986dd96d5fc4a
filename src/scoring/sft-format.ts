import { CharTokenizer } from './char-tokenizer';

/**
 * The SFT format of a (problem, trace) pair, as gpu-runner writes it (stages/common.py
 * `format_prompt`, `encode_prompt`, `encode_completion`; the cut in stages/sft.py). A score is only
 * the student's likelihood if the tokens are exactly the ones it was trained on.
 */

/** The characters Python's `str.strip()` removes (`str.isspace`): not the same set as JS `trim()`,
 * which also strips U+FEFF and keeps U+001C-U+001F and U+0085. */
const PY_SPACE =
  '[\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const PY_STRIP = new RegExp(`^${PY_SPACE}+|${PY_SPACE}+$`, 'g');

export const formatPrompt = (problem: string) => problem.replace(PY_STRIP, '') + '\n';

export const encodePrompt = (tok: CharTokenizer, problem: string) =>
  tok.encode(formatPrompt(problem), true);

export const encodeCompletion = (tok: CharTokenizer, text: string) => [
  ...tok.encode(text),
  CharTokenizer.EOS,
];

/**
 * SFT's cut for a pair longer than `maxTokens` (its `max_seq_len`): keep the completion, drop the
 * prompt's start (keeping at least 2 prompt tokens), and only then cut the completion's end.
 */
export function fitToContext(
  prompt: number[],
  completion: number[],
  maxTokens: number,
): { prompt: number[]; completion: number[] } {
  if (prompt.length + completion.length <= maxTokens) return { prompt, completion };
  const keep = Math.max(2, maxTokens - completion.length);
  const cutPrompt = prompt.slice(-keep);
  return { prompt: cutPrompt, completion: completion.slice(0, maxTokens - cutPrompt.length) };
}
