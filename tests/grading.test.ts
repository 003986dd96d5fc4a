import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { GRADER_VERSION, extractAnswer, grade, isEquivalent } from '../src/grading';
import { repoRoot } from './helpers/processes';
import { tempDir, removeTempDir } from './helpers/temp';

/** The compiled CLI, beside the compiled tests: <out>/src/cli/grade.js. */
const GRADE_CLI = path.join(__dirname, '..', 'src', 'cli', 'grade.js');
const CASES_FILE = path.join(repoRoot(), 'tests', 'fixtures', 'grading-cases.jsonl');

/** One line of the shared case file; Python's test reads the same file. */
interface GradingCase {
  gold: string;
  output?: string;
  /** A large output described compactly: prefix + text repeated `times` + suffix. */
  output_repeat?: { text: string; times: number; prefix?: string; suffix?: string };
  correct: boolean;
  extracted?: string | null;
  note: string;
}

const CASES: GradingCase[] = fs
  .readFileSync(CASES_FILE, 'utf8')
  .split('\n')
  .filter((line) => line.trim())
  .map((line) => JSON.parse(line) as GradingCase);

function outputOf(c: GradingCase): string {
  if (c.output !== undefined) return c.output;
  const r = c.output_repeat!;
  return (r.prefix ?? '') + r.text.repeat(r.times) + (r.suffix ?? '');
}

function gradeCli(args: string[], input?: string) {
  const res = spawnSync(process.execPath, [GRADE_CLI, ...args], {
    input,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

describe('grader', () => {
  it('grades plain numbers without loading mathjs', () => {
    for (let i = 0; i < 10_000; i++) {
      assert.equal(grade(`12+7=19. 19-5=${i}. Answer: ${i}`, String(i)).correct, true);
    }
    assert.equal(isEquivalent('1/2', '0.5'), true);
    const loaded = Object.keys(require.cache).filter((k) =>
      k.includes(`${path.sep}mathjs${path.sep}`),
    );
    assert.deepEqual(loaded, []);
  });

  it('has a case file of at least 150 cases, each with a verdict and a note', () => {
    assert.ok(CASES.length >= 150, `${CASES.length} cases`);
    for (const c of CASES) {
      assert.equal(typeof c.gold, 'string');
      assert.equal(typeof c.correct, 'boolean');
      assert.ok(c.note, JSON.stringify(c));
      assert.ok((c.output === undefined) !== (c.output_repeat === undefined), c.note);
    }
  });

  it('gives every case its expected verdict and extracted answer', () => {
    const failures: string[] = [];
    for (const [i, c] of CASES.entries()) {
      const output = outputOf(c);
      const got = grade(output, c.gold);
      const where = `case ${i + 1} (${c.note})`;
      if (got.correct !== c.correct) {
        failures.push(`${where}: correct ${got.correct}, expected ${c.correct}`);
      }
      if (c.extracted !== undefined && got.extracted !== c.extracted) {
        failures.push(`${where}: extracted ${JSON.stringify(got.extracted)?.slice(0, 200)}`);
      }
      if (extractAnswer(output) !== got.extracted) failures.push(`${where}: extractAnswer differs`);
    }
    assert.deepEqual(failures, []);
  });

  it('returns quickly on megabyte pathological outputs', () => {
    const big = CASES.filter((c) => c.output_repeat && outputOf(c).length >= 1_000_000);
    assert.ok(big.length >= 5);
    for (const c of big) {
      const started = performance.now();
      grade(outputOf(c), c.gold);
      const ms = performance.now() - started;
      assert.ok(ms < 5000, `${c.note}: ${Math.round(ms)} ms`);
    }
  });

  it('never calls a missing answer correct', () => {
    assert.equal(isEquivalent(null, '5'), false);
    assert.equal(isEquivalent('', ''), false);
    assert.deepEqual(grade('no answer here', '5'), { extracted: null, correct: false });
  });

  it('judges the first symbolic pair of a fresh process the same every time (20 processes)', async () => {
    const verdicts = await firstSymbolicVerdicts(20, 0);
    assert.deepEqual(verdicts, Array(20).fill('true'));
  });

  it('judges the first symbolic pair the same when loading mathjs takes 2.5 s', async () => {
    // The old grader started its 2 s symbolic clock before mathjs loaded: on a busy machine the
    // first comparison of a process came out false. A load made slow on purpose shows the verdict
    // no longer depends on it.
    assert.deepEqual(await firstSymbolicVerdicts(1, 2500), ['true']);
  });

  it('shares its version string with the Python grader', () => {
    assert.equal(GRADER_VERSION, 'stagewise-grader/1');
    const python = fs.readFileSync(
      path.join(repoRoot(), 'gpu-runner', 'gpu_runner', 'grading', '__init__.py'),
      'utf8',
    );
    assert.match(python, new RegExp(`^GRADER_VERSION = "${GRADER_VERSION}"$`, 'm'));
  });
});

const execFileAsync = promisify(execFile);
const GRADING_MODULE = path.join(__dirname, '..', 'src', 'grading', 'index.js');

/**
 * `isEquivalent('\frac{1}{\sqrt{2}}', '\frac{\sqrt{2}}{2}')` as the first comparison of each of
 * `count` fresh node processes, four at a time; `slowLoadMs` makes requiring mathjs wait first.
 */
async function firstSymbolicVerdicts(count: number, slowLoadMs: number): Promise<string[]> {
  const script = `
    const Module = require('node:module');
    const load = Module._load;
    Module._load = function (request, ...rest) {
      if (request === 'mathjs' && ${slowLoadMs} > 0) {
        const until = Date.now() + ${slowLoadMs};
        while (Date.now() < until);
      }
      return load.call(this, request, ...rest);
    };
    const { isEquivalent } = require(${JSON.stringify(GRADING_MODULE)});
    process.stdout.write(String(isEquivalent(process.argv[1], process.argv[2])));
  `;
  const verdicts: string[] = [];
  for (let start = 0; start < count; start += 4) {
    const batch = Array.from({ length: Math.min(4, count - start) }, () =>
      execFileAsync(
        process.execPath,
        ['-e', script, '\\frac{1}{\\sqrt{2}}', '\\frac{\\sqrt{2}}{2}'],
        { encoding: 'utf8', timeout: 120_000 },
      ),
    );
    for (const { stdout } of await Promise.all(batch)) verdicts.push(stdout);
  }
  return verdicts;
}

describe('grade CLI', () => {
  const dir = tempDir('stagewise-grade-');
  after(() => removeTempDir(dir));
  const lines = [
    { gold: '14', output: '12+7=19. 19-5=14. Answer: 14', id: 'a' },
    { gold: '0.5', output: 'so \\boxed{\\frac{1}{2}}' },
    { gold: 3, output: 'The answer is 4.' },
    { gold: 'x^2+2x+1', output: '\\boxed{(x+1)^2}' },
  ];
  const input = path.join(dir, 'in.jsonl');
  fs.writeFileSync(input, lines.map((l) => JSON.stringify(l)).join('\n') + '\n\n');
  const expected = [
    { ...lines[0], extracted: '14', correct: true },
    { ...lines[1], extracted: '\\frac{1}{2}', correct: true },
    { ...lines[2], extracted: '4', correct: false },
    { ...lines[3], extracted: '(x+1)^2', correct: true },
  ];
  const parse = (text: string) =>
    text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));

  it('writes every line back in order with extracted and correct added', () => {
    const res = gradeCli([input]);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(parse(res.stdout), expected);
  });

  it('writes to --out and reads stdin as -', () => {
    const out = path.join(dir, 'out.jsonl');
    const res = gradeCli(['-', '--out', out], fs.readFileSync(input, 'utf8'));
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, '');
    assert.deepEqual(parse(fs.readFileSync(out, 'utf8')), expected);
  });

  it('stops at a malformed line with its line number and exit code 2', () => {
    const bad = path.join(dir, 'bad.jsonl');
    fs.writeFileSync(bad, `${JSON.stringify(lines[0])}\n\n{"gold": "1", "output": \n`);
    const res = gradeCli([bad]);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /line 3: not JSON/);
    assert.deepEqual(parse(res.stdout), [expected[0]]);

    fs.writeFileSync(bad, `{"gold": "1"}\n`);
    const missing = gradeCli([bad]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /line 1: "output" must be a string/);
  });

  it('fails with exit code 2 on bad usage and 1 on a missing file', () => {
    assert.equal(gradeCli([]).code, 2);
    const res = gradeCli([path.join(dir, 'nope.jsonl')]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /ENOENT/);
  });
});
