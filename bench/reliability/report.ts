/**
 * The suite's one table (check | load held | faults survived | bad inputs tried |
 * lost/duplicated) and its last line, a machine-readable verdict.
 */
export interface CheckRow {
  check: string;
  /** What load the check held, in words ("200 clients x 60 s, 0 errors"), or "-". */
  load: string;
  /** Faults injected and survived, e.g. "1/1", or "-". */
  faults: string;
  /** Hostile inputs sent, or 0. */
  badInputs: number;
  /** Events or rows lost plus duplicated (0 is the promise), or null where nothing is counted. */
  lostOrDuplicated: number | null;
  ok: boolean;
  /** Why it failed (or what it skipped), one line each. */
  notes: string[];
}

export function formatTable(rows: CheckRow[]): string {
  const header = [
    'check',
    'load held',
    'faults survived',
    'bad inputs tried',
    'lost/duplicated',
    'verdict',
  ];
  const cells = rows.map((r) => [
    r.check,
    r.load,
    r.faults,
    r.badInputs ? r.badInputs.toLocaleString('en-US') : '-',
    r.lostOrDuplicated === null ? '-' : String(r.lostOrDuplicated),
    r.ok ? 'pass' : 'FAIL',
  ]);
  const widths = header.map((h, k) => Math.max(h.length, ...cells.map((c) => c[k].length)));
  const line = (c: string[]) => `| ${c.map((v, k) => v.padEnd(widths[k])).join(' | ')} |`;
  return [
    line(header),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...cells.map(line),
  ].join('\n');
}

/** The last line: `RELIABILITY {"ok":...,"checks":{...}}`. */
export function verdictLine(rows: CheckRow[]): string {
  const checks = Object.fromEntries(
    rows.map((r) => [
      r.check,
      {
        ok: r.ok,
        badInputs: r.badInputs,
        lostOrDuplicated: r.lostOrDuplicated,
        notes: r.notes.slice(0, 3),
      },
    ]),
  );
  return `RELIABILITY ${JSON.stringify({ ok: rows.every((r) => r.ok), checks })}`;
}
