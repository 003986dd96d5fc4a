"""A minimal grader for the built-in arithmetic task (the full shared spec replaces it later).

Extraction: the last "Answer: N", else the last number in the text. Equivalence: numbers within
1e-6 relative, else a normalised string match. Every graded rollout records GRADER_VERSION.
"""
from __future__ import annotations

import re
from typing import NamedTuple, Optional

GRADER_VERSION = "stagewise-py-minimal/1"

_NUMBER = r"-?\d[\d,]*(?:\.\d+)?"
_ANSWER_RE = re.compile(r"answer\s*(?:is)?\s*[:=]?\s*(" + _NUMBER + ")", re.IGNORECASE)
_NUMBER_RE = re.compile(_NUMBER)


class Grade(NamedTuple):
    final_answer: Optional[str]
    correct: bool
    reward: float


def extract_answer(text: str) -> Optional[str]:
    found = _ANSWER_RE.findall(text)
    if found:
        return found[-1].replace(",", "")
    numbers = _NUMBER_RE.findall(text)
    return numbers[-1].replace(",", "") if numbers else None


def _as_number(s: str) -> Optional[float]:
    try:
        return float(s.replace(",", "").strip())
    except ValueError:
        return None


def is_equivalent(prediction: Optional[str], gold: str) -> bool:
    if prediction is None:
        return False
    p, g = _as_number(prediction), _as_number(gold)
    if p is not None and g is not None:
        return abs(p - g) <= 1e-6 * max(1.0, abs(g))
    return " ".join(prediction.lower().split()) == " ".join(gold.lower().split())


def grade(text: str, gold: str) -> Grade:
    """Reward 1 for a correct final answer, 0 otherwise (the RL reward)."""
    answer = extract_answer(text)
    ok = is_equivalent(answer, gold)
    return Grade(answer, ok, 1.0 if ok else 0.0)
