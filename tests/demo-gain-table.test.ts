import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { explainGain, formatGainTable, GainRow } from '../scripts/demo-gain-table';

const SCRIPT = path.join(__dirname, '..', 'scripts', 'demo-gain-table.js');

/** A PROBE run as `stagewise runs list --json` prints it (the fields the table reads). */
const probeRun = (id: string, passAt1: number, status = 'SUCCEEDED') => ({
  id,
  stage: 'PROBE',
  status,
  metrics: status === 'SUCCEEDED' ? { 'probe/pass_at_1': passAt1, 'probe/problems': 200 } : {},
});

function table(runs: unknown[], args: string[]) {
  return spawnSync(process.execPath, [SCRIPT, ...args], {
    input: JSON.stringify(runs),
    encoding: 'utf8',
  });
}

describe("npm run demo's before/after table (scripts/demo-gain-table)", () => {
  it('prints split | before | after from the PROBE runs, with what the numbers mean', () => {
    const runs = [
      probeRun('A', 0),
      probeRun('B', 0.005),
      probeRun('C', 0.42),
      probeRun('D', 0.215),
      { id: 'S', stage: 'SFT', status: 'SUCCEEDED', metrics: {} },
    ];
    const res = table(runs, ['--steps', '1200', 'seen=A,C', 'new=B,D']);
    assert.equal(res.status, 0, res.stderr);
    const lines = res.stdout.split('\n');
    assert.match(lines[0], /^split\s+problems\s+before SFT\s+after SFT\s+change$/);
    assert.match(lines[1], /^seen \(in the SFT set\)\s+200\s+0\.0%\s+42\.0%\s+\+42\.0 points$/);
    assert.match(lines[2], /^new \(never trained on\)\s+200\s+0\.5%\s+21\.5%\s+\+21\.0 points$/);
    assert.match(res.stdout, /after 1200 SFT steps/);
    assert.match(res.stdout, /solves 42\.0% of the problems it trained on, up from 0\.0%/);
    assert.match(
      res.stdout,
      /it never saw, it went from 0\.5% to 21\.5%.*20\.5% more on seen problems is memorisation/,
    );
  });

  it('claims no memorisation when seen and new differ by less than 200 problems can tell', () => {
    const rows: GainRow[] = [
      { split: 'seen', problems: 200, before: 0, after: 0.155 },
      { split: 'new', problems: 200, before: 0, after: 0.125 },
    ];
    const text = explainGain(rows, 1200);
    assert.match(text, /from 0\.0% to 12\.5%: what it learned carries over/);
    assert.doesNotMatch(text, /memorisation/);
  });

  it('says plainly when there is no gain, and which knob to turn', () => {
    const rows: GainRow[] = [
      { split: 'seen', problems: 200, before: 0.026, after: 0.021 },
      { split: 'new', problems: 200, before: 0.02, after: 0.02 },
    ];
    assert.match(formatGainTable(rows), /-0\.5 points/);
    const text = explainGain(rows, 200);
    assert.match(text, /No gain on the problems it trained on \(2\.6% -> 2\.1%\).*DEMO_SFT_STEPS/);
    assert.match(text, /On new problems it did not improve/);
  });

  it('refuses (exit 3, a message) when a probe did not succeed: no half table', () => {
    const runs = [probeRun('A', 0), probeRun('C', 0, 'FAILED')];
    const res = table(runs, ['--steps', '10', 'seen=A,C']);
    assert.equal(res.status, 3);
    assert.equal(res.stdout, '');
    assert.match(res.stderr, /run C \(FAILED\) has no probe\/pass_at_1/);
    const usage = table(runs, ['seen=A']);
    assert.equal(usage.status, 3);
    assert.match(usage.stderr, /unexpected argument|usage/);
  });
});
