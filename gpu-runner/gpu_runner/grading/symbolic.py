"""Symbolic equivalence (symbolic.ts, SPEC.md §4): both trees evaluated by SymPy at the spec's
fixed points. TypeScript evaluates the same trees with mathjs; the verdict rule here is shared, so
neither library's simplifier decides. SymPy runs in a worker process (sympy_worker.py) so that no
answer can hang the caller."""
from __future__ import annotations

import time
from typing import Optional

from . import sympy_worker
from .latex_expr import to_expr, variables
from .numbers import close

# The verdict rule bounds symbolic work by a count of tree nodes evaluated (symbolic.ts's
# SYMBOLIC_STEP_BUDGET), never by a clock. The time limit is only a safety stop for what no count
# can bound, SymPy's own pathological cases (SPEC.md §4); ordinary answers finish in milliseconds.
SYMBOLIC_STEP_BUDGET = 200_000
SYMBOLIC_TIME_LIMIT_S = 10.0

_POINT_TABLE = [0.3183, 1.2021, -0.7391, 2.6854, -1.3247, 0.8147, -2.1753, 3.3017, 0.1357, -0.4621]
_POINTS = 5
_MAX_VARIABLES = 4


class Budget:
    """The steps left to the symbolic comparisons of one is_equivalent (symbolic.ts's Budget),
    and the safety stop's deadline (time.monotonic) for the SymPy worker."""

    def __init__(self, steps: int, seconds: float):
        self.steps = steps
        self.deadline = time.monotonic() + seconds


def new_budget() -> Budget:
    """The budget of one is_equivalent call (the limits are read here, at call time, so a test
    can lower SYMBOLIC_TIME_LIMIT_S on this module)."""
    return Budget(SYMBOLIC_STEP_BUDGET, SYMBOLIC_TIME_LIMIT_S)


def _node_count(e) -> int:
    if e[0] in ("num", "var", "const"):
        return 1
    if e[0] == "neg":
        return 1 + _node_count(e[1])
    if e[0] == "call":
        return 1 + _node_count(e[2])
    return 1 + _node_count(e[1]) + _node_count(e[2])


def symbolic_equal(a: str, b: str, scales, budget: Budget) -> bool:
    ea = to_expr(a)
    eb = ea and to_expr(b)
    if not ea or not eb:
        return False
    names = variables(ea, eb)
    if len(names) > _MAX_VARIABLES:
        return False
    points = [{v: _POINT_TABLE[(3 * k + j) % len(_POINT_TABLE)] for j, v in enumerate(names)}
              for k in range(_POINTS)]
    cost = _POINTS * (_node_count(ea) + _node_count(eb))
    if cost > budget.steps:
        return False
    budget.steps -= cost
    if time.monotonic() > budget.deadline:
        return False
    values = sympy_worker.evaluate([ea, eb], points, budget)
    if not values:
        return False
    va, vb = ([_defined(v) for v in row] for row in values)
    return any(_agree_at_points(va, vb, sa, sb) for sa, sb in scales)


def _defined(v) -> Optional[float]:
    """A finite real value; a complex one counts as real when its imaginary part is rounding."""
    if v is None:
        return None
    re_, im = v
    return re_ if abs(im) <= 1e-12 * max(1.0, abs(re_)) else None


def _agree_at_points(a, b, sa, sb) -> bool:
    both = 0
    for x, y in zip(a, b):
        if (x is None) != (y is None):
            return False
        if x is not None and y is not None:
            if not close(x / sa, y / sb):
                return False
            both += 1
    return both > 0


