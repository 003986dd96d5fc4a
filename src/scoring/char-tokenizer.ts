import fs from 'node:fs/promises';
import path from 'node:path';
import { badInput } from '../common/errors';

export const TOKENIZER_FILE = 'char_tokenizer.json';

/**
 * The tiny student's tokenizer, as gpu-runner's `CharTokenizer` (models/tiny_gpt.py) writes it:
 * one token per character (code point), after four special tokens with fixed ids; a character
 * outside the vocabulary is `<unk>`.
 */
export class CharTokenizer {
  static readonly PAD = 0;
  static readonly BOS = 1;
  static readonly EOS = 2;
  static readonly UNK = 3;
  static readonly SPECIALS = ['<pad>', '<bos>', '<eos>', '<unk>'];

  private readonly stoi = new Map<string, number>();
  /** Specials plus characters, as Python's `vocab_size`. */
  readonly vocabSize: number;

  constructor(chars: string) {
    // Code points, as Python iterates a str; a repeated character keeps its last id, as a dict does.
    const list = Array.from(chars);
    list.forEach((ch, i) => this.stoi.set(ch, i + CharTokenizer.SPECIALS.length));
    this.vocabSize = CharTokenizer.SPECIALS.length + list.length;
  }

  /** Reads `char_tokenizer.json` from a checkpoint directory. */
  static async load(directory: string): Promise<CharTokenizer> {
    const file = path.join(directory, TOKENIZER_FILE);
    let parsed: unknown;
    try {
      parsed = JSON.parse(await fs.readFile(file, 'utf8'));
    } catch (err) {
      throw badInput(`${file} is missing or not JSON: ${(err as Error).message}`, { file });
    }
    const { chars, specials } = (parsed ?? {}) as { chars?: unknown; specials?: unknown };
    if (typeof chars !== 'string') {
      throw badInput(`${file} has no "chars" string: not a stagewise char tokenizer`, { file });
    }
    // The runner uses fixed special ids whatever the file says; a file that disagrees is not ours.
    if (
      specials !== undefined &&
      JSON.stringify(specials) !== JSON.stringify(CharTokenizer.SPECIALS)
    ) {
      throw badInput(
        `${file} has specials ${JSON.stringify(specials)}, expected the runner's own`,
        {
          file,
        },
      );
    }
    return new CharTokenizer(chars);
  }

  encode(text: string, bos = false): number[] {
    const ids = bos ? [CharTokenizer.BOS] : [];
    for (const ch of text) ids.push(this.stoi.get(ch) ?? CharTokenizer.UNK);
    return ids;
  }
}
