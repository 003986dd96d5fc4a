"""The grader against the shared case file (tests/fixtures/grading-cases.jsonl at the repository
root), which the TypeScript grader's tests run too: both must give every case the same verdict."""
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from gpu_runner.grading import GRADER_VERSION, Grade, extract_answer, grade, is_equivalent
from gpu_runner.grading import symbolic, sympy_worker

REPO = Path(__file__).resolve().parents[2]
RUNNER = REPO / "gpu-runner"
CASES = [json.loads(line) for line in (REPO / "tests" / "fixtures" / "grading-cases.jsonl")
         .read_text(encoding="utf-8").splitlines() if line.strip()]


def _output(case):
    if "output" in case:
        return case["output"]
    r = case["output_repeat"]
    return r.get("prefix", "") + r["text"] * r["times"] + r.get("suffix", "")


def test_the_case_file_has_at_least_150_cases_with_a_verdict_and_a_note_on_cpu():
    assert len(CASES) >= 150
    for c in CASES:
        assert isinstance(c["gold"], str) and isinstance(c["correct"], bool) and c["note"], c
        assert ("output" in c) != ("output_repeat" in c), c["note"]


def test_every_case_gets_its_expected_verdict_and_extracted_answer_on_cpu():
    failures = []
    for i, c in enumerate(CASES, start=1):
        output = _output(c)
        g = grade(output, c["gold"])
        where = f"case {i} ({c['note']})"
        if g.correct != c["correct"]:
            failures.append(f"{where}: correct {g.correct}, expected {c['correct']}")
        if "extracted" in c and g.final_answer != c["extracted"]:
            failures.append(f"{where}: extracted {str(g.final_answer)[:200]!r}")
        if extract_answer(output) != g.final_answer:
            failures.append(f"{where}: extract_answer differs")
        if g.reward != (1.0 if g.correct else 0.0):
            failures.append(f"{where}: reward {g.reward}")
    assert failures == []


def test_megabyte_pathological_outputs_return_quickly_on_cpu():
    big = [c for c in CASES if "output_repeat" in c and len(_output(c)) >= 1_000_000]
    assert len(big) >= 5
    for c in big:
        started = time.monotonic()
        grade(_output(c), c["gold"])
        assert time.monotonic() - started < 5.0, c["note"]


def test_a_symbolic_timeout_kills_the_worker_and_the_next_comparison_gets_a_fresh_one_on_cpu(
        monkeypatch):
    monkeypatch.setattr(symbolic, "SYMBOLIC_TIME_LIMIT_S", 0.5)
    assert is_equivalent("2x", "x+x")
    worker = sympy_worker._worker._proc
    started = time.monotonic()
    assert not is_equivalent(r"\sin(10^{10^{12}})", r"\cos(10^{10^{12}})")  # minutes in SymPy
    assert time.monotonic() - started < 5.0
    assert worker.poll() is not None  # killed
    assert is_equivalent("(x+1)^3", "x^3+3x^2+3x+1")
    assert sympy_worker._worker._proc.pid != worker.pid


def test_grade_keeps_the_runner_api_on_cpu():
    assert GRADER_VERSION == "stagewise-grader/1"
    assert grade("12+7=19. 19-5=14. Answer: 14", "14") == Grade("14", True, 1.0)
    assert grade("no answer", "14") == Grade(None, False, 0.0)
    assert not is_equivalent(None, "14") and not is_equivalent("", "")


def test_the_version_string_is_the_typescript_one_on_cpu():
    ts = (REPO / "src" / "grading" / "index.ts").read_text(encoding="utf-8")
    assert re.search(rf"^export const GRADER_VERSION = '{re.escape(GRADER_VERSION)}';$", ts, re.M)


def _cli(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "gpu_runner.grading", *args], cwd=RUNNER,
                          input=stdin, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(RUNNER)})


LINES = [
    {"gold": "14", "output": "12+7=19. 19-5=14. Answer: 14", "id": "a"},
    {"gold": "0.5", "output": "so \\boxed{\\frac{1}{2}}"},
    {"gold": 3, "output": "The answer is 4."},
    {"gold": "x^2+2x+1", "output": "\\boxed{(x+1)^2}"},
]
EXPECTED = [
    {**LINES[0], "extracted": "14", "correct": True},
    {**LINES[1], "extracted": "\\frac{1}{2}", "correct": True},
    {**LINES[2], "extracted": "4", "correct": False},
    {**LINES[3], "extracted": "(x+1)^2", "correct": True},
]


def _parse(text):
    return [json.loads(line) for line in text.splitlines() if line]


def test_cli_writes_every_line_back_in_order_with_extracted_and_correct_on_cpu(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(x) for x in LINES) + "\n\n", encoding="utf-8")
    res = _cli(str(src))
    assert res.returncode == 0, res.stderr
    assert _parse(res.stdout) == EXPECTED
    out = tmp_path / "out.jsonl"
    res = _cli("-", "--out", str(out), stdin=src.read_text(encoding="utf-8"))
    assert res.returncode == 0 and res.stdout == "", res.stderr
    assert _parse(out.read_text(encoding="utf-8")) == EXPECTED


def test_cli_stops_at_a_malformed_line_with_its_number_and_exit_code_2_on_cpu(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(LINES[0]) + '\n\n{"gold": "1", "output": \n', encoding="utf-8")
    res = _cli(str(bad))
    assert res.returncode == 2
    assert "line 3: not JSON" in res.stderr
    assert _parse(res.stdout) == EXPECTED[:1]
    bad.write_text('{"gold": "1"}\n', encoding="utf-8")
    res = _cli(str(bad))
    assert res.returncode == 2 and 'line 1: "output" must be a string' in res.stderr
    assert _cli().returncode == 2
    assert _cli(str(tmp_path / "nope.jsonl")).returncode == 1
