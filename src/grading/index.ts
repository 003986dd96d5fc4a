/**
 * The grader (SPEC.md): the final answer of a model's output, and whether it is equivalent to
 * the gold answer. The same spec is implemented in Python for the runner's RL reward
 * (gpu-runner/gpu_runner/grading/, one Python file per file here); both pass
 * tests/fixtures/grading-cases.jsonl, and every graded trace records GRADER_VERSION.
 */
import { extractAnswer } from './extract';
import { isEquivalent } from './equivalence';

/** The spec version; Python's GRADER_VERSION is the same string. */
export const GRADER_VERSION = 'stagewise-grader/1';

export { extractAnswer, isEquivalent };

/** Extracts the final answer of `output` and grades it against `gold`. Synchronous. */
export function grade(
  output: string,
  gold: string,
): { extracted: string | null; correct: boolean } {
  const extracted = extractAnswer(output);
  return { extracted, correct: isEquivalent(extracted, gold) };
}
