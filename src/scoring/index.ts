/**
 * Scoring traces with the tiny student in-process: `StudentScorer` over a checkpoint's ONNX
 * export (onnxruntime-node, imported only when a scorer is opened).
 */
export { StudentScorer, type ScoreItem, type StudentScorerOptions } from './student-scorer';
export type { TraceScore } from './completion-nll';
export { CharTokenizer } from './char-tokenizer';
