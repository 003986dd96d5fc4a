"""`python3 -m gpu_runner.grading FILE [--out FILE]` (the twin of src/cli/grade.ts, SPEC.md §5):
grades JSONL lines {"gold", "output"} and writes each object back, in order, with "extracted" and
"correct" added."""
from __future__ import annotations

import argparse
import json
import sys

from . import GRADER_VERSION, grade
from .text import WS

EXIT_OK, EXIT_IO, EXIT_BAD_INPUT = 0, 1, 2


class _BadLine(Exception):
    pass


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def _grade_line(line: str) -> str:
    try:
        obj = json.loads(line, parse_constant=_reject_constant)
    except ValueError as err:
        raise _BadLine(f"not JSON ({err})") from None
    if not isinstance(obj, dict):
        raise _BadLine("not a JSON object")
    gold, output = obj.get("gold"), obj.get("output")
    if isinstance(gold, (int, float)) and not isinstance(gold, bool):
        gold = str(gold)
    if not isinstance(gold, str):
        raise _BadLine('"gold" must be a string or a number')
    if not isinstance(output, str):
        raise _BadLine('"output" must be a string')
    g = grade(output, gold)
    obj["extracted"] = g.final_answer
    obj["correct"] = g.correct
    out = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    try:
        out.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a \ud800 escape: keep it escaped
        out = json.dumps(obj, separators=(",", ":"))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python3 -m gpu_runner.grading",
        description=f"Grade JSONL lines {{\"gold\", \"output\"}} ({GRADER_VERSION}); each line is "
                    "written back with \"extracted\" and \"correct\" added. A malformed line stops "
                    "the run with exit code 2.")
    p.add_argument("file", help="input JSONL, or - for stdin")
    p.add_argument("--out", help="output file (default: stdout)")
    args = p.parse_args(argv)
    try:
        src = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8", errors="replace")
        dst = sys.stdout if args.out is None else open(args.out, "w", encoding="utf-8")
    except OSError as err:
        print(f"grade: {err}", file=sys.stderr)
        return EXIT_IO
    try:
        for n, line in enumerate(src, start=1):
            if not line.strip(WS):
                continue
            try:
                dst.write(_grade_line(line) + "\n")
            except _BadLine as err:
                dst.flush()
                print(f"grade: line {n}: {err}", file=sys.stderr)
                return EXIT_BAD_INPUT
    finally:
        dst.flush()
        if dst is not sys.stdout:
            dst.close()
        if src is not sys.stdin:
            src.close()
    return EXIT_OK

