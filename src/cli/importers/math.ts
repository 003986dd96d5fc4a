/**
 * MATH and MATH-500 (`problem`, `solution`, optional `answer`, `level`, `type` or `subject`,
 * MATH-500's `unique_id`). The gold answer is the `answer` column when there is one, else the
 * solution's last `\boxed{}` as the grader extracts it; the solution becomes a TEACHER trace.
 */
import { extractAnswer } from '../../grading';
import {
  cellText,
  badRow,
  problemExternalId,
  requiredText,
  type ImportedRow,
  type SourceRow,
} from './records';

const BOXED = /\\(?:boxed|fbox)\s*\{/;

/** "Level 3", 3 or "3" -> "level:3"; anything else (MATH's "Level ?") -> null. */
function levelTag(value: unknown): string | null {
  const m = /(\d+)/.exec(cellText(value) ?? '');
  return m ? `level:${m[1]}` : null;
}

export function mathRow(row: SourceRow, rowNumber: number): ImportedRow {
  const problem = requiredText(row, 'problem', rowNumber);
  const solution = cellText(row.solution)?.trim() || null;
  const explicit = cellText(row.answer)?.trim() || null;
  let gold = explicit;
  if (gold === null) {
    if (solution === null) {
      throw badRow(rowNumber, 'neither an "answer" nor a "solution" column');
    }
    if (!BOXED.test(solution)) {
      throw badRow(
        rowNumber,
        'the solution has no \\boxed{} answer and there is no "answer" column',
      );
    }
    gold = extractAnswer(solution);
    if (!gold) throw badRow(rowNumber, "the solution's \\boxed{} is empty");
  }
  const subject = cellText(row.type ?? row.subject)?.trim() || null;
  const level = levelTag(row.level);
  const id = cellText(row.unique_id ?? row.id)?.trim();
  return {
    sample: {
      externalId: id || problemExternalId('math', problem),
      problem,
      answer: gold,
      domain: subject,
      tags: ['math', ...(level ? [level] : [])],
    },
    trace: solution ? { text: solution, producer: 'math' } : undefined,
  };
}
