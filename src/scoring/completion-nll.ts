/**
 * The maths of scoring, free of ONNX: batch building and the mean NLL of completion tokens from
 * the model's logits. Shapes: B rows, T columns, V vocabulary; arrays are row-major.
 */

/** One encoded pair: prompt ids (BOS first) and completion ids (EOS last). */
export interface Example {
  prompt: number[];
  completion: number[];
}

export interface TraceScore {
  /** Mean over the completion tokens of -log p(token | the tokens before it), in nats. */
  meanNll: number;
  /** Completion tokens scored (EOS included, after any cut to the context). */
  tokens: number;
}

/**
 * Inputs (B, T) int64, right-padded with `padId`: each row is prompt + completion without its last
 * token (nothing is predicted after it), as SFT's batches. Attention is causal, so the padding
 * after a row's tokens never reaches their logits and needs no mask.
 */
export function rightPaddedInputs(
  examples: Example[],
  padId: number,
): { ids: BigInt64Array; rows: number; cols: number } {
  const rows = examples.length;
  const cols = Math.max(...examples.map((e) => e.prompt.length + e.completion.length)) - 1;
  const ids = new BigInt64Array(rows * cols).fill(BigInt(padId));
  examples.forEach((e, b) => {
    const seq = [...e.prompt, ...e.completion].slice(0, -1);
    seq.forEach((id, t) => (ids[b * cols + t] = BigInt(id)));
  });
  return { ids, rows, cols };
}

/**
 * logits (B, T, V) -> one score per example. The logit at column t predicts token t + 1, so
 * completion token j is read at column len(prompt) - 1 + j. Log-softmax in float64.
 */
export function meanCompletionNll(
  logits: Float32Array,
  cols: number,
  vocab: number,
  examples: Example[],
): TraceScore[] {
  return examples.map((e, b) => {
    let sum = 0;
    e.completion.forEach((target, j) => {
      const at = (b * cols + e.prompt.length - 1 + j) * vocab;
      let max = -Infinity;
      for (let v = 0; v < vocab; v += 1) max = Math.max(max, logits[at + v]);
      let z = 0;
      for (let v = 0; v < vocab; v += 1) z += Math.exp(logits[at + v] - max);
      sum += max + Math.log(z) - logits[at + target];
    });
    return { meanNll: sum / e.completion.length, tokens: e.completion.length };
  });
}
