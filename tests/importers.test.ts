import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestServer, type TestServer } from './helpers/test-server';
import { StagewiseCli } from './helpers/cli';

interface SampleRow {
  externalId: string;
  problem: string;
  answer: string;
  domain: string | null;
  tags: string[];
  traces: { kind: string; text: string; correct: boolean | null; producer: string | null }[];
}

const GSM8K = [
  {
    question: 'A farm has 617 cows and buys 617 more. How many cows does it have now?',
    answer: 'It has 617+617=<<617+617=1234>>1234 cows.\n#### 1,234',
  },
  {
    question: 'Natalia sold 48 clips in April and half as many in May. How many in total?',
    answer:
      'In May she sold 48/2 = <<48/2=24>>24 clips.\nIn total 48+24 = <<48+24=72>>72 clips.\n#### 72',
  },
];

const MATH = [
  {
    problem: 'Simplify $\\frac{6}{8}$.',
    solution: 'Divide by two: $\\frac{6}{8} = \\boxed{\\frac{3}{4}}$.',
    level: 'Level 1',
    type: 'Prealgebra',
  },
  {
    problem: 'What is the set of values $x$ with $x^2 = 4$?',
    solution: 'Both signs work, so the set is $\\boxed{\\{-2, 2\\}}$.',
    level: 'Level 2',
    type: 'Algebra',
  },
];

const MATH_500 = {
  problem: 'Compute $2^{10}$.',
  solution: 'Doubling ten times gives $1024$.',
  answer: '1024',
  subject: 'Intermediate Algebra',
  level: 3,
  unique_id: 'test/intermediate_algebra/1.json',
};

describe('stagewise import / export of public formats', () => {
  let t: TestServer;
  let cli: StagewiseCli;
  let dir: string;

  const write = (name: string, rows: unknown[]) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    return file;
  };

  async function samplesOf(dataset: string): Promise<SampleRow[]> {
    const d = await t.gql(`query($n: String!) { dataset(name: $n) { id } }`, { n: dataset });
    assert.equal(d.errors, undefined, JSON.stringify(d.errors));
    const res = await t.gql(
      `query($id: ID!) { samples(first: 100, filter: { datasetIds: [$id] }) { nodes {
         externalId problem answer domain tags traces { kind text correct producer } } } }`,
      { id: d.data.dataset.id },
    );
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    return res.data.samples.nodes;
  }

  const importJson = async (...args: string[]) =>
    JSON.parse(await cli.ok(['import', '--json', ...args]));

  before(async () => {
    t = await startTestServer();
    cli = new StagewiseCli(t);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stagewise-importers-'));
  });
  after(async () => {
    await t.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('imports GSM8K: gold without thousands separators, a teacher trace the API grades correct, idempotently', async () => {
    const file = write('gsm8k.jsonl', GSM8K);
    const args = ['--dataset', 'gsm8k', '--create', '--format', 'gsm8k', file];
    const first = await importJson(...args);
    assert.equal(first.created, true);
    assert.equal(first.rows, 2);
    assert.deepEqual(first.samples, { inserted: 2, existing: 0, duplicateCount: 0 });
    assert.deepEqual(first.traces, { inserted: 2, existing: 0 });

    const samples = await samplesOf('gsm8k');
    const cows = samples.find((s) => s.problem.includes('cows'))!;
    assert.equal(cows.answer, '1234');
    assert.deepEqual(cows.tags, ['gsm8k']);
    assert.equal(samples.find((s) => s.problem.includes('Natalia'))!.answer, '72');
    for (const s of samples) {
      assert.equal(s.traces.length, 1);
      assert.equal(s.traces[0].kind, 'TEACHER');
      assert.equal(s.traces[0].correct, true, s.traces[0].text);
      assert.doesNotMatch(s.traces[0].text, /<<|####/);
    }

    const again = await importJson(...args);
    assert.equal(again.created, false);
    assert.deepEqual(again.samples, { inserted: 0, existing: 2, duplicateCount: 0 });
    assert.deepEqual(again.traces, { inserted: 0, existing: 2 });
    assert.equal((await samplesOf('gsm8k')).length, 2);
  });

  it('imports MATH (nested braces in \\boxed) and MATH-500 (an explicit answer) with level and subject', async () => {
    const file = write('math.jsonl', [...MATH, MATH_500]);
    const out = await importJson(
      '--dataset',
      'math',
      '--create',
      '--split',
      'eval',
      '--format',
      'math',
      file,
    );
    assert.equal(out.rows, 3);
    assert.equal(out.samples.inserted, 3);
    assert.equal(out.traces.inserted, 3);
    const split = await t.gql(`{ dataset(name: "math") { split } }`);
    assert.equal(split.data.dataset.split, 'EVAL');

    const samples = await samplesOf('math');
    const byProblem = (text: string) => samples.find((s) => s.problem.includes(text))!;
    assert.equal(byProblem('frac{6}').answer, '\\frac{3}{4}');
    assert.equal(byProblem('frac{6}').domain, 'Prealgebra');
    assert.deepEqual(byProblem('frac{6}').tags, ['math', 'level:1']);
    assert.equal(byProblem('x^2 = 4').answer, '\\{-2, 2\\}');
    const m500 = byProblem('2^{10}');
    assert.equal(m500.externalId, 'test/intermediate_algebra/1.json');
    assert.equal(m500.answer, '1024');
    assert.equal(m500.domain, 'Intermediate Algebra');
    assert.deepEqual(m500.tags, ['math', 'level:3']);
    for (const s of samples) {
      assert.deepEqual(
        s.traces.map((tr) => [tr.kind, tr.correct, tr.producer]),
        [['TEACHER', true, 'math']],
        s.problem,
      );
    }
  });

  it('imports any JSONL through a column mapping', async () => {
    const file = write('custom.jsonl', [
      {
        id: 'q-1',
        question: 'What is 3 + 4?',
        final: 7,
        subject: 'arith',
        difficulty: 'easy',
        work: '3 + 4 = 7. The answer is 7.',
      },
      {
        id: 'q-2',
        question: 'What is 10 - 6?',
        final: '4',
        subject: 'arith',
        difficulty: 'easy',
        work: '10 - 6 = 5. The answer is 5.',
      },
    ]);
    const out = await importJson(
      '--dataset',
      'custom',
      '--create',
      '--format',
      'jsonl',
      '--map',
      'problem=question,answer=final,externalId=id,domain=subject,tags=difficulty',
      '--map',
      'trace=work,metadata.origin=subject',
      file,
    );
    assert.deepEqual(out.samples, { inserted: 2, existing: 0, duplicateCount: 0 });
    const samples = await samplesOf('custom');
    const q1 = samples.find((s) => s.externalId === 'q-1')!;
    assert.equal(q1.answer, '7');
    assert.equal(q1.domain, 'arith');
    assert.deepEqual(q1.tags, ['difficulty:easy']);
    assert.equal(q1.traces[0].correct, true);
    // The teacher's wrong trace is kept, graded wrong.
    assert.equal(samples.find((s) => s.externalId === 'q-2')!.traces[0].correct, false);
  });

  it('imports a Parquet file, read row group by row group, through a column mapping', async () => {
    const { parquetWriteBuffer } = await import('hyparquet-writer');
    const n = 5;
    const buffer = parquetWriteBuffer({
      columnData: [
        { name: 'uid', data: Array.from({ length: n }, (_, i) => `p-${i}`), type: 'STRING' },
        {
          name: 'prompt',
          data: Array.from({ length: n }, (_, i) => `What is ${i} + 1,000?`),
          type: 'STRING',
        },
        { name: 'target', data: Array.from({ length: n }, (_, i) => 1000 + i), type: 'INT32' },
      ],
      rowGroupSize: 2,
    });
    const file = path.join(dir, 'rows.parquet');
    fs.writeFileSync(file, Buffer.from(buffer));
    const args = [
      '--dataset',
      'pq',
      '--create',
      '--format',
      'parquet',
      '--map',
      'problem=prompt,answer=target,externalId=uid',
      file,
    ];
    const out = await importJson(...args);
    assert.equal(out.rows, n);
    assert.equal(out.samples.inserted, n);
    assert.deepEqual(out.traces, { inserted: 0, existing: 0 });
    const samples = await samplesOf('pq');
    assert.deepEqual(
      samples.map((s) => [s.externalId, s.answer]).sort(),
      Array.from({ length: n }, (_, i) => [`p-${i}`, String(1000 + i)]),
    );
    assert.equal((await importJson(...args)).samples.existing, n);

    // Human output: one summary line a phase, with its rate (stdout is not a TTY here).
    const human = await cli.ok(['import', ...args]);
    assert.match(human, /reading +5 rows in .* rows\/s\)/);
    assert.match(human, /samples +5 rows in .*: 0 inserted, 5 existing/);
  });

  it('refuses bad files with the row number, writing nothing', async () => {
    const gsm = write('bad-gsm8k.jsonl', [
      GSM8K[0],
      { question: 'No marker?', answer: 'The answer is 3.' },
    ]);
    const mapped = write('bad-mapped.jsonl', [
      { q: 'What is 1 + 1?', a: '2' },
      { q: 'What is 2 + 2?', a: '4' },
      { q: 'What is 3 + 3?' },
    ]);
    const boxless = write('bad-math.jsonl', [{ problem: 'Compute 1+1.', solution: 'It is 2.' }]);
    await cli.expectExits([
      {
        args: ['import', '--dataset', 'bad', '--create', '--format', 'gsm8k', gsm],
        code: 1,
        stderr: /row 2: the GSM8K answer has no final "#### N" line/,
      },
      {
        args: [
          'import',
          '--dataset',
          'bad',
          '--create',
          '--format',
          'jsonl',
          '--map',
          'problem=q,answer=a',
          mapped,
        ],
        code: 1,
        stderr: /row 3: column "a" \(mapped to answer\) is missing/,
      },
      {
        args: ['import', '--dataset', 'bad', '--create', '--format', 'math', boxless],
        code: 1,
        stderr: /row 1: the solution has no \\boxed\{\} answer/,
      },
      {
        args: ['import', '--dataset', 'gsm8k', '--format', 'jsonl', mapped],
        code: 3,
        stderr: /needs --map/,
      },
      {
        args: ['import', '--dataset', 'gsm8k', '--format', 'jsonl', '--map', 'problem=q', mapped],
        code: 3,
        stderr: /must name the problem and answer/,
      },
      {
        args: ['import', '--dataset', 'gsm8k', '--format', 'jsonl', '--map', 'question=q', mapped],
        code: 3,
        stderr: /unknown field "question"/,
      },
      {
        args: ['import', '--dataset', 'gsm8k', '--format', 'csv', mapped],
        code: 3,
        stderr: /--format must be one of/,
      },
      {
        args: ['import', '--dataset', 'gsm8k', '--format', 'gsm8k', path.join(dir, 'absent.jsonl')],
        code: 3,
        stderr: /no such file/,
      },
      {
        args: ['import', '--dataset', 'nowhere', '--format', 'gsm8k', write('ok.jsonl', GSM8K)],
        code: 1,
        stderr: /no dataset named "nowhere" \(add --create/,
      },
    ]);
    // The bad files stopped before the API was called: no dataset was created.
    const res = await t.gql(`{ dataset(name: "bad") { id } }`);
    assert.equal(res.errors?.[0].extensions.code, 'NOT_FOUND');
  });

  it('exports samples and filtered traces to a file, with --json for scripts', async () => {
    const out = path.join(dir, 'gsm8k-samples.ndjson');
    const summary = JSON.parse(
      await cli.ok(['export', '--json', '--dataset', 'gsm8k', '--kind', 'samples', '--out', out]),
    );
    assert.equal(summary.rows, 2);
    const lines = fs
      .readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => l.answer).sort(), ['1234', '72']);
    assert.equal(fs.existsSync(`${out}.partial`), false);

    const traces = path.join(dir, 'custom-wrong.ndjson');
    const human = await cli.ok([
      'export',
      '--dataset',
      'custom',
      '--kind',
      'traces',
      '--trace-kind',
      'teacher',
      '--correct',
      'false',
      '--out',
      traces,
    ]);
    assert.match(human, /traces +1 rows in .*rows\/s\)/);
    const wrong = fs
      .readFileSync(traces, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      wrong.map((w) => [w.sampleExternalId, w.correct]),
      [['q-2', false]],
    );

    await cli.expectExits([
      {
        args: [
          'export',
          '--dataset',
          'gsm8k',
          '--kind',
          'samples',
          '--correct',
          'true',
          '--out',
          out,
        ],
        code: 3,
        stderr: /--correct is not a filter of --kind samples/,
      },
      {
        args: ['export', '--dataset', 'gsm8k', '--kind', 'rows', '--out', out],
        code: 3,
        stderr: /--kind is samples or traces/,
      },
      {
        args: [
          'export',
          '--dataset',
          'nowhere',
          '--kind',
          'samples',
          '--out',
          path.join(dir, 'x.ndjson'),
        ],
        code: 1,
        stderr: /NOT_FOUND/,
      },
    ]);
    assert.equal(fs.existsSync(path.join(dir, 'x.ndjson')), false);
  });
});
