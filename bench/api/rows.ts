/**
 * The rows both servers answer from: `samples` problems with `tracesPerSample` traces each,
 * loaded the way users load them, through stagewise's NDJSON endpoints. Deterministic, with
 * texts that exercise JSON escaping (quotes, backslashes, tabs, newlines) and some ungraded
 * traces (correct = null). ASCII only: autocannon decodes each network chunk of a response on its
 * own, so a character split between two chunks would fail its body check (expectBody).
 */
const KINDS = ['TEACHER', 'ROLLOUT', 'ROLLOUT', 'ROLLOUT', 'BRIDGED', 'REPAIR', 'SOLUTION'];
const PHRASES = [
  'Let $x$ be the number of apples.',
  'Then \\frac{x}{2} + 3 = 7, so x = 8.',
  'We check: 8 / 2 + 3 = 7.\n',
  'Step 2:\tfactor (x - 2)(x + 3).',
  'Hence "n" must be even, and >= 2.',
  'Therefore the answer is \\boxed{42}.',
];

function sampleLines(samples: number): string {
  let out = '';
  for (let s = 1; s <= samples; s += 1) {
    const problem = `Problem ${s}: what is ${s} * 7 + 3?`;
    out += JSON.stringify({ externalId: `bs${s}`, problem, answer: String(s * 7 + 3) }) + '\n';
  }
  return out;
}

function traceLines(samples: number, tracesPerSample: number): string {
  let out = '';
  for (let s = 1; s <= samples; s += 1) {
    for (let t = 1; t <= tracesPerSample; t += 1) {
      const i = (s - 1) * tracesPerSample + t;
      let text = `[${i}] `;
      for (let k = 0; text.length < 200 + (i % 200); k += 1)
        text += PHRASES[(i + k) % PHRASES.length] + ' ';
      out +=
        JSON.stringify({
          sampleExternalId: `bs${s}`,
          externalId: `bt${s}-${t}`,
          kind: KINDS[i % KINDS.length],
          text,
          correct: i % 5 === 0 ? null : i % 3 === 0,
        }) + '\n';
    }
  }
  return out;
}

async function post(url: string, key: string, type: string, body: string): Promise<unknown> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': type, authorization: `Bearer ${key}` },
    body,
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`POST ${url}: ${res.status} ${text}`);
  return JSON.parse(text);
}

/** Creates the dataset "bench" and imports the rows; `writeKey` is a WRITE key. */
export async function loadRows(
  baseUrl: string,
  writeKey: string,
  samples: number,
  tracesPerSample: number,
): Promise<void> {
  const created = (await post(
    `${baseUrl}/graphql`,
    writeKey,
    'application/json',
    JSON.stringify({ query: 'mutation { createDataset(input: { name: "bench" }) { id } }' }),
  )) as { errors?: unknown };
  if (created.errors) throw new Error(`createDataset: ${JSON.stringify(created.errors)}`);
  const ndjson = 'application/x-ndjson';
  const s = (await post(
    `${baseUrl}/v1/datasets/bench/samples`,
    writeKey,
    ndjson,
    sampleLines(samples),
  )) as { inserted: number };
  const t = (await post(
    `${baseUrl}/v1/datasets/bench/traces`,
    writeKey,
    ndjson,
    traceLines(samples, tracesPerSample),
  )) as { inserted: number };
  if (s.inserted !== samples || t.inserted !== samples * tracesPerSample)
    throw new Error(`loaded ${s.inserted} samples and ${t.inserted} traces, not all of them`);
}
