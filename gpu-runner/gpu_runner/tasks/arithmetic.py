"""The built-in task: multi-step arithmetic word problems, and a programmatic teacher.

Difficulty: level L has L operations (1-5) of + and -, operands of 1 or 2 digits; running totals
never go negative. The teacher writes two styles of correct trace for each problem:
- raw (terse, leap-y: hard for a small student): "12+7-5=14. Answer: 14"
- explicit (one step per result): "12+7=19. 19-5=14. Answer: 14"
`parse_problem` reads a problem's text back, so that teachers can work from the text alone.

CLI (NDJSON in the API's import format):
    python3 -m gpu_runner.tasks.arithmetic --n 1000 --seed 0 \
        --samples out/samples.ndjson --traces out/traces.ndjson [--split train|eval]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
from dataclasses import dataclass
from typing import Iterator, List, Optional, Sequence, Tuple

DOMAIN = "arithmetic"
LEVELS = (1, 2, 3, 4, 5)

_NAMES = [("Ann", "she"), ("Ben", "he"), ("Cal", "he"), ("Dee", "she"), ("Eve", "she"),
          ("Finn", "he"), ("Gus", "he"), ("Ivy", "she"), ("Jo", "she"), ("Max", "he")]
_ITEMS = ["apples", "coins", "cards", "marbles", "stickers", "books", "shells", "pens"]
_ADD = ["gets {} more", "finds {}", "buys {}", "wins {}"]
_SUB = ["gives away {}", "loses {}", "sells {}", "uses {}"]


@dataclass(frozen=True)
class Problem:
    external_id: str
    text: str
    start: int
    steps: Tuple[Tuple[str, int], ...]  # ("+" | "-", operand)
    level: int

    @property
    def ops(self) -> int:
        return len(self.steps)

    @property
    def answer(self) -> int:
        total = self.start
        for op, x in self.steps:
            total = total + x if op == "+" else total - x
        return total


def _operand(rng: random.Random, max_digits: int, at_most: int = 99) -> int:
    digits = rng.randint(1, max_digits)
    lo, hi = (1, 9) if digits == 1 else (10, 10 ** digits - 1)
    hi = min(hi, at_most)
    return rng.randint(1, hi) if lo > hi else rng.randint(lo, hi)


def make_problem(rng: random.Random, level: int, external_id: str, max_digits: int = 2) -> Problem:
    if not 1 <= level <= 5:
        raise ValueError(f"level must be 1-5, got {level}")
    start = _operand(rng, max_digits)
    total, steps = start, []
    for _ in range(level):
        if total == 0 or rng.random() < 0.5:
            x = _operand(rng, max_digits)
            steps.append(("+", x))
            total += x
        else:
            x = _operand(rng, max_digits, at_most=total)
            steps.append(("-", x))
            total -= x
    name, pronoun = rng.choice(_NAMES)
    item = rng.choice(_ITEMS)
    clauses = [rng.choice(_ADD if op == "+" else _SUB).format(x) for op, x in steps]
    text = (f"{name} has {start} {item}. {pronoun.capitalize()} {', then '.join(clauses)}. "
            f"How many {item} does {name} have?")
    return Problem(external_id, text, start, tuple(steps), level)


# The inverse of make_problem's wording, so that a teacher can work from the problem text alone.
_PROBLEM_RE = re.compile(r"(?P<name>[A-Z][a-z]+) has (?P<start>\d+) (?P<item>[a-z]+)\. (?:He|She) (?P<clauses>.+)\. "
                         r"How many (?P<item2>[a-z]+) does (?P<name2>[A-Z][a-z]+) have\?")
_CLAUSE_RES = [(re.compile(re.escape(t).replace(r"\{\}", r"(\d+)")), op)
               for op, templates in (("+", _ADD), ("-", _SUB)) for t in templates]


def parse_problem(text: str) -> Optional[Problem]:
    """The Problem that make_problem worded as `text` (external_id ""), or None when `text` is not
    one of its problems (other wording, no operation, a total that would go negative)."""
    text = " ".join(str(text).split())
    m = _PROBLEM_RE.fullmatch(text)
    if not m or m["item"] != m["item2"] or m["name"] != m["name2"]:
        return None
    total = start = int(m["start"])
    steps = []
    for clause in m["clauses"].split(", then "):
        found = next(((op, int(c.group(1))) for r, op in _CLAUSE_RES for c in [r.fullmatch(clause)] if c), None)
        if found is None:
            return None
        total = total + found[1] if found[0] == "+" else total - found[1]
        if total < 0:
            return None
        steps.append(found)
    if not 1 <= len(steps) <= max(LEVELS):
        return None
    return Problem("", text, start, tuple(steps), len(steps))


def generate(n: int, seed: int = 0, split: str = "train", levels: Sequence[int] = LEVELS,
             max_digits: int = 2) -> List[Problem]:
    """n distinct problems, levels drawn uniformly; the same (n, seed, split) always gives the same
    list, and the train and eval splits of one seed draw from different streams. A draw whose text
    repeats an earlier one is drawn again (the API keeps one sample per content, so a repeat would
    leave its traces without a sample); one-operation problems repeat from a few thousand on."""
    rng = random.Random(f"stagewise-arithmetic:{split}:{seed}")
    problems: List[Problem] = []
    seen = set()
    while len(problems) < n:
        p = make_problem(rng, rng.choice(list(levels)), f"arith-{split}-s{seed}-{len(problems)}", max_digits)
        if p.text not in seen:
            seen.add(p.text)
            problems.append(p)
    return problems


def raw_trace(p: Problem) -> str:
    expr = str(p.start) + "".join(f"{op}{x}" for op, x in p.steps)
    return f"{expr}={p.answer}. Answer: {p.answer}"


def explicit_trace(p: Problem) -> str:
    parts, total = [], p.start
    for op, x in p.steps:
        new = total + x if op == "+" else total - x
        parts.append(f"{total}{op}{x}={new}.")
        total = new
    return " ".join(parts) + f" Answer: {p.answer}"


TEACHERS = {"raw": ("builtin-teacher-raw", raw_trace), "explicit": ("builtin-teacher-explicit", explicit_trace)}


def sample_line(p: Problem) -> dict:
    return {
        "externalId": p.external_id,
        "problem": p.text,
        "answer": str(p.answer),
        "domain": DOMAIN,
        "tags": [f"ops:{p.ops}", f"level:{p.level}"],
        "metadata": {"ops": p.ops, "level": p.level},
    }


def trace_lines(p: Problem, styles: Sequence[str] = ("raw", "explicit")) -> Iterator[dict]:
    for style in styles:
        producer, write = TEACHERS[style]
        yield {
            "sampleExternalId": p.external_id,
            "kind": "TEACHER",
            "text": write(p),
            "finalAnswer": str(p.answer),
            "correct": True,
            "producer": producer,
        }


def _write_ndjson(path: str, rows) -> int:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    count = 0
    with open(path, "w") as f:
        for row in rows:
            f.write(json.dumps(row, separators=(",", ":")) + "\n")
            count += 1
    return count


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m gpu_runner.tasks.arithmetic", description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1000, help="number of problems")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--split", choices=["train", "eval"], default="train")
    ap.add_argument("--levels", default="1,2,3,4,5", help="comma-separated levels (= number of operations)")
    ap.add_argument("--max-digits", type=int, choices=[1, 2], default=2)
    ap.add_argument("--styles", default="raw,explicit", help="teacher styles to write: raw, explicit")
    ap.add_argument("--samples", required=True, help="output NDJSON of sample lines")
    ap.add_argument("--traces", help="output NDJSON of teacher trace lines")
    args = ap.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",") if x]
    styles = [s for s in args.styles.split(",") if s]
    for s in styles:
        if s not in TEACHERS:
            ap.error(f"--styles: unknown style {s!r}; choose from {sorted(TEACHERS)}")
    if any(not 1 <= lv <= 5 for lv in levels):
        ap.error("--levels: each level must be 1-5")
    problems = generate(args.n, args.seed, args.split, levels, args.max_digits)
    n_s = _write_ndjson(args.samples, (sample_line(p) for p in problems))
    msg = f"wrote {n_s} samples to {args.samples}"
    if args.traces:
        n_t = _write_ndjson(args.traces, (t for p in problems for t in trace_lines(p, styles)))
        msg += f" and {n_t} traces to {args.traces}"
    print(msg)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
