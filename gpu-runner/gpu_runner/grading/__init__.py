"""The grader: the final answer of a model's output, and whether it equals the gold answer.

The spec is src/grading/SPEC.md (version GRADER_VERSION); the API implements it in TypeScript
(src/grading/), and both run every case of tests/fixtures/grading-cases.jsonl. The files here
mirror the TypeScript ones, so the two can be compared file by file: text, extract, normalize,
numbers, latex_expr (latex-expr.ts), symbolic, equivalence; sympy_worker runs SymPy in a child
process for symbolic, and cli is `python3 -m gpu_runner.grading` (src/cli/grade.ts). Keep the
two in step, and follow the spec's portability rules (ASCII classes written out, `\\Z` where
JavaScript has `$`).
"""
from __future__ import annotations

from typing import NamedTuple, Optional

from .equivalence import is_equivalent
from .extract import extract_answer
from .normalize import normalize

GRADER_VERSION = "stagewise-grader/1"

__all__ = ["GRADER_VERSION", "Grade", "grade", "extract_answer", "is_equivalent", "normalize"]


class Grade(NamedTuple):
    final_answer: Optional[str]
    correct: bool
    reward: float


def grade(text: str, gold: str) -> Grade:
    """Reward 1 for a correct final answer, 0 otherwise (the RL reward)."""
    answer = extract_answer(text)
    ok = is_equivalent(answer, gold)
    return Grade(answer, ok, 1.0 if ok else 0.0)
