import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { AppError } from '../src/common/errors';
import { tempDir } from './helpers/temp';
import { CharTokenizer } from '../src/scoring/char-tokenizer';
import { StudentScorer } from '../src/scoring/student-scorer';
import {
  builtinTraces,
  pytorchScores,
  PYTHON,
  RUNNER_DIR,
  trainStudent,
  type BuiltinTrace,
} from './helpers/student';

/** Pairs the built-in task never has: characters outside the vocabulary, whitespace that Python's
 * strip() and JS trim() disagree on, an empty trace. */
const ODD_ITEMS = [
  { problem: ' \u001c Zoë has 3 apples 🍎. How many?\u0085\n', completion: '3. Answer: 3 ✓' },
  { problem: '\ufeffAnn has 2 pens.\t', completion: '' },
  { problem: '\u00a0Ben has 9 cards.\u2003', completion: 'Answer:\n9\u00e9' },
];

const isBadInput = (err: unknown, message = /./) =>
  err instanceof AppError && err.code === 'BAD_USER_INPUT' && message.test(err.message);

describe('scoring traces with the student ONNX export', () => {
  let dir: string;
  let traces: BuiltinTrace[];
  let checkpoint: string;

  before(() => {
    // onnxruntime's native library writes telemetry files (.ses, mat-debug-PID.log) into the
    // temp dir of the process that loads it: this file's process gets one it removes at exit.
    process.env.TMPDIR = tempDir('stagewise-onnx-');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stagewise-scoring-'));
    traces = builtinTraces(dir, 20); // 40 traces: raw and explicit, 1 to 5 operations
    checkpoint = trainStudent(dir, traces);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('encodes prompts and completions exactly as the runner does', async () => {
    const texts = [...ODD_ITEMS.flatMap((i) => [i.problem, i.completion]), traces[0].problem];
    const printed = execFileSync(
      PYTHON,
      [
        '-c',
        `import json, sys
from gpu_runner.models.tiny_gpt import TinyBackend
from gpu_runner.stages.common import encode_completion, encode_prompt
m = TinyBackend.load(sys.argv[1], 'cpu')
print(json.dumps([[encode_prompt(m, t), encode_completion(m, t)] for t in json.loads(sys.argv[2])]))`,
        checkpoint,
        JSON.stringify(texts),
      ],
      { cwd: RUNNER_DIR, env: { ...process.env, OPENBLAS_NUM_THREADS: '1' }, encoding: 'utf8' },
    );
    const expected = JSON.parse(printed) as [number[], number[]][];
    const scorer = await StudentScorer.open(checkpoint);
    try {
      texts.forEach((text, i) => {
        const { prompt, completion } = scorer.encode({ problem: text, completion: text });
        assert.deepEqual([prompt, completion], expected[i], JSON.stringify(text));
      });
    } finally {
      await scorer.close();
    }
  });

  for (const maxTokens of [512, 48]) {
    it(`matches the runner's PyTorch log-likelihoods to 1e-4 on every trace (maxTokens ${maxTokens})`, async () => {
      const items = [...traces, ...ODD_ITEMS];
      const reference = pytorchScores(dir, checkpoint, items, { batchSize: 8, maxTokens });
      const scorer = await StudentScorer.open(pathToFileURL(checkpoint).href, {
        batchSize: 8,
        maxTokens,
      });
      try {
        const scores = await scorer.score(items);
        assert.equal(scores.length, items.length);
        scores.forEach((s, i) => {
          assert.equal(s.tokens, reference.scores[i].tokens, `tokens of item ${i}`);
          const diff = Math.abs(s.meanNll - reference.scores[i].meanNll);
          assert.ok(
            diff <= 1e-4,
            `item ${i}: ONNX ${s.meanNll} vs PyTorch ${reference.scores[i].meanNll}`,
          );
        });
        const encoded = items.map((it) => scorer.encode(it));
        assert.ok(encoded.every((e) => e.prompt.length + e.completion.length <= maxTokens));
        // At 48 tokens most pairs are cut: the prompt loses its start (and BOS).
        const cut = encoded.filter((e) => e.prompt[0] !== CharTokenizer.BOS).length;
        assert.ok(maxTokens === 48 ? cut > 20 : cut === 0, `${cut} pairs cut`);
        // A trained student: far from uniform over the vocabulary (ln 100 = 4.6).
        assert.ok(Math.min(...scores.map((s) => s.meanNll)) < 3);
      } finally {
        await scorer.close();
      }
    });
  }

  it('gives the same score to a trace alone and in a right-padded batch of 16', async () => {
    const alone = await StudentScorer.open(checkpoint, { batchSize: 1 });
    const batched = await StudentScorer.open(checkpoint, { batchSize: 16 });
    try {
      const [a, b] = [await alone.score(traces), await batched.score(traces)];
      a.forEach((s, i) => assert.ok(Math.abs(s.meanNll - b[i].meanNll) <= 1e-5, `item ${i}`));
      assert.deepEqual(await batched.score([]), []);
    } finally {
      await alone.close();
      await batched.close();
    }
  });

  it('refuses a directory without model.onnx, without a tokenizer, or missing, as BAD_USER_INPUT', async () => {
    const noOnnx = path.join(dir, 'no-onnx');
    fs.mkdirSync(noOnnx);
    for (const f of ['tiny_gpt.json', 'model.pt', 'char_tokenizer.json']) {
      fs.copyFileSync(path.join(checkpoint, f), path.join(noOnnx, f));
    }
    await assert.rejects(StudentScorer.open(noOnnx), (e) => isBadInput(e, /model\.onnx/));
    const huggingFace = path.join(dir, 'hf');
    fs.mkdirSync(huggingFace);
    fs.writeFileSync(path.join(huggingFace, 'config.json'), '{"model_type":"qwen2"}');
    await assert.rejects(StudentScorer.open(huggingFace), isBadInput);
    const noTokenizer = path.join(dir, 'no-tokenizer');
    fs.mkdirSync(noTokenizer);
    fs.copyFileSync(path.join(checkpoint, 'model.onnx'), path.join(noTokenizer, 'model.onnx'));
    await assert.rejects(StudentScorer.open(noTokenizer), (e) =>
      isBadInput(e, /char_tokenizer\.json/),
    );
    await assert.rejects(StudentScorer.open(path.join(dir, 'nowhere')), isBadInput);
    await assert.rejects(StudentScorer.open(checkpoint, { batchSize: 0 }), isBadInput);
  });

  it('loads onnxruntime-node only when a scorer is opened', () => {
    const loaded = execFileSync(
      process.execPath,
      [
        '-e',
        `require(${JSON.stringify(require.resolve('../src/scoring/student-scorer'))});
console.log(Object.keys(require.cache).some((k) => k.includes('onnxruntime')))`,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(loaded.trim(), 'false');
  });
});
