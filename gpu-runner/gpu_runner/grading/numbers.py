"""Plain numbers (numbers.ts, SPEC.md §3.5): the fast path that decides `14` vs `14.0`,
`\\frac{1}{2}` vs `0.5` or `2\\frac{1}{2}` vs `2.5` without parsing an expression. Grading ~10^4
rollouts of a numeric task stays on this path."""
from __future__ import annotations

import re
from typing import Optional

_N = r"(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
_PLAIN = re.compile(rf"(-?)({_N})")
_SLASH = re.compile(rf"(-?)({_N})/({_N})")
_FRAC = re.compile(rf"(-?)\\frac\{{(-?{_N})\}}\{{(-?{_N})\}}")
_MIXED = re.compile(r"(-?)([0-9]+)\\frac\{([0-9]+)\}\{([0-9]+)\}")


def plain_number(s: str) -> Optional[float]:
    """The value of a normalised plain number, or None when `s` is anything else."""
    m = _PLAIN.fullmatch(s)
    if m:
        return _finite(_sign(m.group(1)) * float(m.group(2)))
    m = _SLASH.fullmatch(s) or _FRAC.fullmatch(s)
    if m:
        return _ratio(_sign(m.group(1)), float(m.group(2)), float(m.group(3)))
    m = _MIXED.fullmatch(s)
    if m:
        frac = _ratio(1, float(m.group(3)), float(m.group(4)))
        return None if frac is None else _finite(_sign(m.group(1)) * (float(m.group(2)) + frac))
    return None


def close(a: float, b: float) -> bool:
    """Equal within 1e-6 relative, with a 1e-12 floor for values that should be zero."""
    return abs(a - b) <= max(1e-6 * max(abs(a), abs(b)), 1e-12)


def _sign(minus: str) -> int:
    return -1 if minus else 1


def _ratio(s: int, num: float, den: float) -> Optional[float]:
    return None if den == 0 else _finite(s * (num / den))


def _finite(x: float) -> Optional[float]:
    return x if x - x == 0 else None  # False for inf and nan
