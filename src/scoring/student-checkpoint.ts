import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { badInput } from '../common/errors';
import { CharTokenizer, TOKENIZER_FILE } from './char-tokenizer';

export const ONNX_FILE = 'model.onnx';
const CONFIG_FILE = 'tiny_gpt.json';

/** What the scorer needs from a tiny-GPT checkpoint directory (gpu-runner/PROTOCOL.md). */
export interface StudentCheckpoint {
  directory: string;
  onnxPath: string;
  tokenizer: CharTokenizer;
  /** The model's vocabulary: the last axis of its logits. */
  vocabSize: number;
}

const exists = (p: string) =>
  fs.stat(p).then(
    () => true,
    () => false,
  );

/**
 * Opens a checkpoint directory (a `file://` prefix is accepted, as the runner accepts it) and
 * checks it is a tiny GPT with an ONNX export. A Hugging Face checkpoint has neither.
 */
export async function readStudentCheckpoint(uri: string): Promise<StudentCheckpoint> {
  const directory = uri.startsWith('file://') ? fileURLToPath(uri) : uri;
  const stat = await fs.stat(directory).catch(() => null);
  if (!stat?.isDirectory()) {
    throw badInput(`Checkpoint ${uri} is not a directory on this machine`, { uri });
  }
  const onnxPath = path.join(directory, ONNX_FILE);
  if (!(await exists(onnxPath))) {
    throw badInput(
      `Checkpoint ${uri} has no ${ONNX_FILE}: only a tiny-GPT checkpoint saved with save_onnx can ` +
        `be scored in-process (a Hugging Face checkpoint cannot)`,
      { uri, missing: ONNX_FILE },
    );
  }
  if (!(await exists(path.join(directory, TOKENIZER_FILE)))) {
    throw badInput(`Checkpoint ${uri} has no ${TOKENIZER_FILE}: not a tiny-GPT checkpoint`, {
      uri,
      missing: TOKENIZER_FILE,
    });
  }
  const tokenizer = await CharTokenizer.load(directory);
  let vocabSize = tokenizer.vocabSize;
  const configFile = path.join(directory, CONFIG_FILE);
  if (await exists(configFile)) {
    let meta: { config?: { vocab_size?: unknown } };
    try {
      meta = JSON.parse(await fs.readFile(configFile, 'utf8')) as typeof meta;
    } catch (err) {
      throw badInput(`${configFile} is not JSON: ${(err as Error).message}`, { uri });
    }
    if (typeof meta.config?.vocab_size === 'number') vocabSize = meta.config.vocab_size;
  }
  if (vocabSize < tokenizer.vocabSize) {
    throw badInput(
      `Checkpoint ${uri}: the tokenizer has ${tokenizer.vocabSize} tokens, the model only ${vocabSize}`,
      { uri },
    );
  }
  return { directory, onnxPath, tokenizer, vocabSize };
}
