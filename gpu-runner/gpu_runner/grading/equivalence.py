"""Equivalence (equivalence.ts, SPEC.md §3): normalised strings, then unions, shapes (sets, tuples,
intervals, lists) element by element, then scalars: plain numbers on a fast path, percent readings,
and symbolic equality last."""
from __future__ import annotations

import re
from typing import List, Optional

from .normalize import normalize
from .numbers import close, plain_number
from .symbolic import Budget, new_budget, symbolic_equal
from .text import bracket_delta, is_letter, trim_ws, utf16_len

MAX_ANSWER_CHARS = 1000
MAX_ITEMS = 32
MAX_NESTING = 3

_WORD = re.compile(r"[A-Za-z]{2,}")


def is_equivalent(prediction: Optional[str], gold: str) -> bool:
    """Whether an extracted answer is equivalent to the gold answer (never raises, never hangs)."""
    if prediction is None:
        return False
    if utf16_len(prediction) > MAX_ANSWER_CHARS or utf16_len(gold) > MAX_ANSWER_CHARS:
        a = trim_ws(prediction)
        return a != "" and a == trim_ws(gold)
    a, b = normalize(prediction), normalize(gold)
    if not a or not b:
        return False
    return _same_value(a, b, 0, new_budget())


def _same_value(a: str, b: str, depth: int, budget: Budget) -> bool:
    if a == b:
        return True
    if depth > MAX_NESTING:
        return False
    ua, ub = _split_top(a, "\\cup"), _split_top(b, "\\cup")
    if len(ua) > 1 or len(ub) > 1:
        return len(ua) == len(ub) and all(_same_value(x, y, depth + 1, budget) for x, y in zip(ua, ub))
    ka, ia, oa, ca = _shape(a)
    kb, ib, ob, cb = _shape(b)
    if ka != kb:
        return False
    if ka == "scalar":
        return _same_scalar(a, b, budget)
    if len(ia) != len(ib) or len(ia) > MAX_ITEMS:
        return False
    if ka == "tuple":
        return oa == ob and ca == cb and all(_same_value(x, y, depth + 1, budget) for x, y in zip(ia, ib))
    # Sets and bare lists are unordered: match each answer element to a distinct gold element.
    used = [False] * len(ib)
    for x in ia:
        j = next((k for k, y in enumerate(ib) if not used[k] and _same_value(x, y, depth + 1, budget)), -1)
        if j < 0:
            return False
        used[j] = True
    return True


def _shape(s: str):
    """(kind, items, open, close): `\\{a,b\\}` set, `(a,b]` tuple or interval, `a,b` list, scalar."""
    n = len(s)
    if s.startswith("\\{") and s.endswith("\\}") and n >= 4 and _closes_at_end(s, 1):
        return "set", _split_top(s[2:-2], ","), "{", "}"
    if n >= 2 and s[0] in "([" and s[-1] in ")]" and _closes_at_end(s, 0):
        items = _split_top(s[1:-1], ",")
        if len(items) > 1:
            return "tuple", items, s[0], s[-1]
    items = _split_top(s, ",")
    if len(items) > 1:
        return "list", items, "", ""
    return "scalar", [s], "", ""


def _closes_at_end(s: str, open_: int) -> bool:
    depth = 0
    for i in range(open_, len(s)):
        depth += bracket_delta(s[i])
        if depth <= 0:
            return i == len(s) - 1
    return False


def _split_top(s: str, sep: str) -> List[str]:
    parts = []
    depth = start = 0
    i = 0
    while i < len(s):
        depth += bracket_delta(s[i])
        if depth <= 0 and s.startswith(sep, i) and not (
                sep == "\\cup" and is_letter(s[i + len(sep):i + len(sep) + 1])):
            parts.append(s[start:i])
            start = i + len(sep)
            i = start
            continue
        i += 1
    parts.append(s[start:])
    return parts


def _same_scalar(a: str, b: str, budget: Budget) -> bool:
    if a == b:
        return True
    if _WORD.fullmatch(a) and _WORD.fullmatch(b):
        return a.lower() == b.lower()
    x, px = (a[:-1], True) if a.endswith("%") else (a, False)
    y, py = (b[:-1], True) if b.endswith("%") else (b, False)
    # With a sign on both sides the numbers compare as written; with one, that side may also be
    # read divided by 100 (50% vs 0.5).
    scales = [(1, 1)] + ([(100, 1)] if px and not py else []) + ([(1, 100)] if py and not px else [])
    nx, ny = plain_number(x), plain_number(y)
    if nx is not None and ny is not None:
        return any(close(nx / sx, ny / sy) for sx, sy in scales)
    return symbolic_equal(x, y, scales, budget)


