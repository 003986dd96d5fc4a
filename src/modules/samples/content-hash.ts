import { createHash } from 'node:crypto';

/**
 * The duplicate detector: two problems that differ only in case, Unicode form or whitespace
 * are the same problem.
 */
export function normaliseProblem(problem: string): string {
  return problem.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
}

export function contentHash(problem: string): string {
  return createHash('sha256').update(normaliseProblem(problem)).digest('hex');
}
