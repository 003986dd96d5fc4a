import type { InferenceSession } from 'onnxruntime-node';
import { badInput } from '../common/errors';
import { CharTokenizer } from './char-tokenizer';
import {
  meanCompletionNll,
  rightPaddedInputs,
  type Example,
  type TraceScore,
} from './completion-nll';
import { cpuSessionOptions, defaultIntraOpThreads, onnxRuntime } from './onnx-runtime';
import { encodeCompletion, encodePrompt, fitToContext } from './sft-format';
import { readStudentCheckpoint, type StudentCheckpoint } from './student-checkpoint';

export type { TraceScore } from './completion-nll';

export interface StudentScorerOptions {
  /** Sequences per ONNX run (default 16). Each run blocks the event loop while it lasts. */
  batchSize?: number;
  /** Longest prompt + completion in tokens, as SFT's `max_seq_len` (default 512, its default);
   * longer pairs are cut the way SFT cuts them. */
  maxTokens?: number;
  /** onnxruntime's intra-op threads (default 2, or the machine's cores if fewer). */
  intraOpNumThreads?: number;
}

export interface ScoreItem {
  problem: string;
  completion: string;
}

const INPUT = 'input_ids';
const OUTPUT = 'logits';

function positiveInt(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw badInput(`${name} must be an integer from ${min} to ${max}, got ${value}`, {
      [name]: value,
    });
  }
  return value;
}

/**
 * How likely the student finds a trace: the mean negative log-likelihood of its tokens under a
 * tiny-GPT checkpoint's ONNX export, run in-process on the CPU. The engine of the Bridge `select`
 * strategy (of several traces for a problem, the student's most likely one). Scores are the
 * runner's own: the same SFT format, tokens and cut (gpu_runner.models.scoring is the PyTorch
 * reference).
 */
export class StudentScorer {
  private closed = false;

  private constructor(
    private readonly session: InferenceSession,
    private readonly checkpoint: StudentCheckpoint,
    private readonly batchSize: number,
    private readonly maxTokens: number,
  ) {}

  static async open(
    checkpointDir: string,
    opts: StudentScorerOptions = {},
  ): Promise<StudentScorer> {
    const batchSize = positiveInt('batchSize', opts.batchSize ?? 16, 1, 4096);
    const maxTokens = positiveInt('maxTokens', opts.maxTokens ?? 512, 8, 1_000_000);
    const threads = positiveInt(
      'intraOpNumThreads',
      opts.intraOpNumThreads ?? defaultIntraOpThreads(),
      1,
      256,
    );
    const checkpoint = await readStudentCheckpoint(checkpointDir);
    const ort = await onnxRuntime();
    let session: InferenceSession;
    try {
      session = await ort.InferenceSession.create(checkpoint.onnxPath, cpuSessionOptions(threads));
    } catch (err) {
      throw badInput(`${checkpoint.onnxPath} could not be loaded: ${(err as Error).message}`, {
        uri: checkpointDir,
      });
    }
    if (!session.inputNames.includes(INPUT) || !session.outputNames.includes(OUTPUT)) {
      await session.release();
      throw badInput(
        `${checkpoint.onnxPath} takes ${session.inputNames.join(', ')} and gives ` +
          `${session.outputNames.join(', ')}; the scorer needs ${INPUT} -> ${OUTPUT}`,
        { uri: checkpointDir },
      );
    }
    return new StudentScorer(session, checkpoint, batchSize, maxTokens);
  }

  /** The tokens a pair is scored on, after the cut to `maxTokens`. */
  encode(item: ScoreItem): Example {
    const tok = this.checkpoint.tokenizer;
    const { prompt, completion } = fitToContext(
      encodePrompt(tok, item.problem),
      encodeCompletion(tok, item.completion),
      this.maxTokens,
    );
    return { prompt, completion };
  }

  /**
   * One score per item, in order. Items are batched by length (little compute on padding); each
   * batch is one ONNX run, right-padded.
   */
  async score(items: ScoreItem[]): Promise<TraceScore[]> {
    if (this.closed) throw badInput('This scorer is closed');
    items.forEach((it, i) => {
      if (typeof it?.problem !== 'string' || typeof it?.completion !== 'string') {
        throw badInput(`items[${i}] needs a problem and a completion string`, { index: i });
      }
    });
    const examples = items.map((it) => this.encode(it));
    const length = (i: number) => examples[i].prompt.length + examples[i].completion.length;
    const order = examples.map((_, i) => i).sort((a, b) => length(a) - length(b)); // stable
    const scores = new Array<TraceScore>(items.length);
    for (let start = 0; start < order.length; start += this.batchSize) {
      const chunk = order.slice(start, start + this.batchSize);
      const batch = await this.scoreBatch(chunk.map((i) => examples[i]));
      chunk.forEach((i, k) => (scores[i] = batch[k]));
    }
    return scores;
  }

  private async scoreBatch(examples: Example[]): Promise<TraceScore[]> {
    const ort = await onnxRuntime();
    const { ids, rows, cols } = rightPaddedInputs(examples, CharTokenizer.PAD);
    const input = new ort.Tensor('int64', ids, [rows, cols]);
    const out = (await this.session.run({ [INPUT]: input }))[OUTPUT];
    const [b, t, vocab] = out.dims;
    if (b !== rows || t !== cols || vocab !== this.checkpoint.vocabSize) {
      throw badInput(
        `${this.checkpoint.onnxPath} gave logits [${out.dims.join(', ')}] for input ` +
          `[${rows}, ${cols}] (vocabulary ${this.checkpoint.vocabSize})`,
      );
    }
    return meanCompletionNll(out.data as Float32Array, cols, vocab, examples);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.session.release();
  }
}
