/**
 * GSM8K (`question`, `answer`): the answer is a worked solution whose last line is `#### N`. The
 * gold answer is N without thousands separators; the solution before `####` becomes a TEACHER
 * trace, without GSM8K's calculator annotations (`<<48/2=24>>`) and closed by "The answer is N."
 * so the grader reads the same answer the data set states.
 */
import {
  badRow,
  problemExternalId,
  requiredText,
  type ImportedRow,
  type SourceRow,
} from './records';

const CALCULATOR_ANNOTATION = /<<[^<>]*>>/g;

export function gsm8kRow(row: SourceRow, rowNumber: number): ImportedRow {
  const problem = requiredText(row, 'question', rowNumber);
  const solution = requiredText(row, 'answer', rowNumber);
  const marker = solution.lastIndexOf('####');
  if (marker < 0) {
    throw badRow(rowNumber, 'the GSM8K answer has no final "#### N" line');
  }
  const gold = solution
    .slice(marker + 4)
    .trim()
    .replace(/,/g, '');
  if (!gold) throw badRow(rowNumber, 'the GSM8K answer has nothing after "####"');
  const reasoning = solution.slice(0, marker).replace(CALCULATOR_ANNOTATION, '').trim();
  return {
    sample: {
      externalId: problemExternalId('gsm8k', problem),
      problem,
      answer: gold,
      domain: 'arithmetic',
      tags: ['gsm8k'],
    },
    trace: {
      text: `${reasoning ? `${reasoning}\n` : ''}The answer is ${gold}.`,
      producer: 'gsm8k',
    },
  };
}
