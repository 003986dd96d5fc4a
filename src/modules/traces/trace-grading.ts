import { GRADER_VERSION, grade } from '../../grading';

/** What the API's grader writes on a trace. */
export interface TraceGrade {
  finalAnswer: string | null;
  correct: boolean;
  reward: number;
  graderVersion: string;
}

/**
 * Grades a trace against its sample's gold answer; null when the sample has none (nothing to
 * grade against, so the trace keeps whatever grade it came with).
 */
export function gradeTrace(text: string, gold: string | null): TraceGrade | null {
  if (gold === null) return null;
  const { extracted, correct } = grade(text, gold);
  return {
    finalAnswer: extracted,
    correct,
    reward: correct ? 1 : 0,
    graderVersion: GRADER_VERSION,
  };
}
